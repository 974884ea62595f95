"""``btam audit``: verify the trail, sign a checkpoint, print the verification key.

The lead registers the group with ``cli.add_command(audit)``. Every command exits non-zero
with a one-line reason: 1 when the trail is tampered with, 2 when it cannot be checked.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import click

from btam.audit.context import AuditContext
from btam.audit.signing import (
    SigningKeyError,
    key_fingerprint,
    load_public_key,
    load_signing_key,
    public_key_pem,
)
from btam.audit.verify import postgres_role_sql, verify_chain
from btam.audit.writer import AuditUnavailable, writer_from_settings
from btam.db import Stores, open_stores
from btam.settings import ConfigError, Settings, load_settings


class CannotRun(click.ClickException):
    """The command could not do its work (configuration, key or store); not a verdict."""

    exit_code = 2


@contextmanager
def _stores() -> Iterator[tuple[Settings, Stores]]:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise CannotRun(str(exc)) from None
    stores = open_stores(settings.database_url, settings.audit_database_url)
    try:
        yield settings, stores
    finally:
        stores.dispose()


class _Bar:
    """Creates the click progress bar once the total is known, and only on a terminal."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._context: AbstractContextManager[Any] | None = None
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        if not sys.stdout.isatty():
            return
        if self._context is None:
            self._context = click.progressbar(length=total, label="Verifying audit trail")
            self._bar = self._context.__enter__()
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)


@click.group("audit")
def audit() -> None:
    """Verify, seal and publish the tamper-evident audit trail."""


@audit.command("verify")
@click.option(
    "--from",
    "from_seq",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="SEQ",
    help="Verify from this entry on, anchored at the last valid checkpoint before it.",
)
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Check signatures with this PEM public key instead of the signing key's.",
)
def verify(from_seq: int, public_key_file: Path | None) -> None:
    """Re-walk the chain, checkpoints and witness file; exit 1 naming the first bad entry."""
    with _stores() as (settings, stores):
        try:
            public_key = (
                load_public_key(public_key_file)
                if public_key_file is not None
                else load_signing_key(settings.audit_signing_key_file).public_key()
            )
        except SigningKeyError as exc:
            raise CannotRun(str(exc)) from None
        bar = _Bar()
        try:
            result = verify_chain(
                stores.audit_sessions,
                public_key=public_key,
                witness=settings.audit_witness,
                from_seq=from_seq,
                progress=bar,
            )
        except (AuditUnavailable, ValueError) as exc:
            raise CannotRun(str(exc)) from None
        finally:
            bar.close()
    if not result.ok:
        where = f" at seq {result.first_bad_seq}" if result.first_bad_seq is not None else ""
        click.echo(f"audit trail TAMPERED{where}: {result.reason}", err=True)
        sys.exit(1)
    sealed = (
        f"last checkpoint at seq {result.last_checkpoint_seq}"
        if result.last_checkpoint_seq is not None
        else "no checkpoint yet"
    )
    click.echo(f"audit trail intact: {result.reason} (head seq {result.head_seq}, {sealed})")


@audit.command("checkpoint")
def checkpoint() -> None:
    """Record and sign a checkpoint over the head of the chain now."""
    with _stores() as (settings, stores):
        try:
            writer = writer_from_settings(settings, stores)
            signed = writer.checkpoint(AuditContext.system())
        except (SigningKeyError, AuditUnavailable) as exc:
            raise CannotRun(str(exc)) from None
    if signed is None:  # cannot happen with a context: it records an entry first
        raise CannotRun("the audit trail is empty: nothing to sign")
    click.echo(f"checkpoint #{signed.id} signed at seq {signed.seq} (hash {signed.entry_hash})")


@audit.command("public-key")
def public_key() -> None:
    """Print the PEM key that verifies checkpoints (the key id goes to stderr)."""
    try:
        settings = load_settings()
        key = load_signing_key(settings.audit_signing_key_file)
    except (ConfigError, SigningKeyError) as exc:
        raise CannotRun(str(exc)) from None
    click.echo(public_key_pem(key), nl=False)
    click.echo(f"key id {key_fingerprint(key)}", err=True)


@audit.command("role-sql")
@click.option(
    "--owner",
    default="btam_audit_owner",
    show_default=True,
    help="Role that owns the audit tables and runs their migrations.",
)
@click.option(
    "--app-role",
    default="btam_audit_app",
    show_default=True,
    help="Role the application connects as: INSERT and SELECT only.",
)
@click.option("--database", default="btam_audit", show_default=True)
def role_sql(owner: str, app_role: str, database: str) -> None:
    """Print the SQL a PostgreSQL superuser runs once to set up the audit store's roles."""
    try:
        click.echo(postgres_role_sql(owner, app_role, database), nl=False)
    except ValueError as exc:
        raise CannotRun(str(exc)) from None
