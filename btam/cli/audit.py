"""``btam audit``: verify, seal and reconcile the trail, rotate and publish the signing key.

The lead registers the group with ``cli.add_command(audit)``. Every command exits non-zero
with a one-line reason: 1 when the trail is tampered with (or disagrees with the case
store), 2 when it cannot be checked. No command creates a store that does not exist.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from btam.audit.actions import AuditAction
from btam.audit.applied import applied_seqs
from btam.audit.context import AuditContext
from btam.audit.events import AuditEvent
from btam.audit.reconcile import ReconcileResult, reconcile
from btam.audit.signing import (
    SigningKeyError,
    key_fingerprint,
    load_key_ring,
    load_public_keys,
    load_signing_key,
    public_key_pem,
    rotate_signing_key_file,
    verification_keys,
)
from btam.audit.verify import VerifyResult, postgres_role_sql, verify_chain
from btam.audit.writer import AuditUnavailable, utcnow, writer_for
from btam.db import make_engine
from btam.settings import ConfigError, Settings, database_identity, load_settings
from btam.store_probe import audit_store_probe, takes_writes


class CannotRun(click.ClickException):
    """The command could not do its work (configuration, key or store); not a verdict."""

    exit_code = 2


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise CannotRun(str(exc)) from None


@contextmanager
def _sessions(url: str, what: str, *, immediate: bool) -> Iterator[sessionmaker[Session]]:
    """Sessions on an existing store; a missing SQLite file is refused, never created."""
    try:
        backend, _host, _port, database = database_identity(url)
    except ConfigError as exc:
        raise CannotRun(str(exc)) from None
    if backend == "sqlite" and database not in {"", ":memory:"} and not Path(database).is_file():
        raise CannotRun(f"the {what} {database} does not exist (btam init creates it)")
    engine = make_engine(url, immediate=immediate)
    try:
        yield sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()


def _audit_sessions(settings: Settings) -> AbstractContextManager[sessionmaker[Session]]:
    return _sessions(settings.audit_database_url, "audit store", immediate=True)


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Bar:
    """Creates the click progress bar once the total is known, and only on a terminal."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: Any = None
        self._context: AbstractContextManager[Any] | None = None
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        if not sys.stdout.isatty():
            return
        if self._context is None:
            self._context = click.progressbar(length=total, label=self._label)
            self._bar = self._context.__enter__()
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)


def _age(since: datetime, now: datetime) -> str:
    seconds = max(int((now - since).total_seconds()), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _not_checked(result: VerifyResult) -> str | None:
    if result.from_seq <= 1:
        return None
    if result.anchor_id is None or result.anchor_seq is None:
        return (
            f"--from {result.from_seq}: no valid checkpoint before it, "
            "so every entry from 1 was re-hashed"
        )
    skipped = "entry 1" if result.anchor_seq == 1 else f"entries 1-{result.anchor_seq}"
    return (
        f"not checked: {skipped} not re-hashed, nor their witness lines read; "
        f"anchored at checkpoint #{result.anchor_id}"
    )


def _sealing(result: VerifyResult, now: datetime) -> str:
    if result.unsealed_entries == 0:
        return "sealed: every entry is under a signed checkpoint"
    first = result.head_seq - result.unsealed_entries + 1
    age = f", the oldest {_age(result.unsealed_since, now)} old" if result.unsealed_since else ""
    pinned = (
        "the witness holds their heads"
        if result.witnessed_seq is not None and result.witnessed_seq >= result.head_seq
        else "the witness holds no head line for them: they could be cut or rewritten unseen"
    )
    return (
        f"not under a signed checkpoint: {result.unsealed_entries} entries "
        f"(seq {first}-{result.head_seq}){age}; {pinned}"
    )


@click.group("audit")
def audit() -> None:
    """Verify, seal, reconcile and publish the tamper-evident audit trail."""


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
    "public_key_files",
    type=click.Path(dir_okay=False, path_type=Path),
    multiple=True,
    help="Check signatures with the PEM public keys in this file (a key ring or one key) "
    "instead of the signing key and the instance's ring; repeat for several files.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Re-hash a long trail in N helper processes beside the walk "
    "[default: one per usable CPU; 0: none].",
)
def verify(from_seq: int, public_key_files: tuple[Path, ...], workers: int | None) -> None:
    """Re-walk the chain, checkpoints and witness file; exit 1 naming the first bad entry."""
    settings = _settings()
    try:
        keys: list[Ed25519PublicKey] = (
            [key for path in public_key_files for key in load_public_keys(path)]
            if public_key_files
            else verification_keys(settings.audit_signing_key_file, settings.audit_public_keys_file)
        )
    except SigningKeyError as exc:
        raise CannotRun(str(exc)) from None
    bar = _Bar("Verifying audit trail")
    with _audit_sessions(settings) as sessions:
        try:
            result = verify_chain(
                sessions,
                public_key=keys,
                witness=settings.audit_witness,
                from_seq=from_seq,
                progress=bar,
                workers=_usable_cpus() if workers is None else workers,
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
    not_checked = _not_checked(result)
    if not_checked:
        click.echo(not_checked)
    click.echo(_sealing(result, utcnow()))


@audit.command("checkpoint")
def checkpoint() -> None:
    """Record and sign a checkpoint over the head of the chain now."""
    settings = _settings()
    with _audit_sessions(settings) as sessions:
        try:
            signed = writer_for(settings, sessions).checkpoint(AuditContext.system())
        except (SigningKeyError, AuditUnavailable) as exc:
            raise CannotRun(str(exc)) from None
    if signed is None:  # cannot happen with a context: it records an entry first
        raise CannotRun("the audit trail is empty: nothing to sign")
    click.echo(f"checkpoint #{signed.id} signed at seq {signed.seq} (hash {signed.entry_hash})")


def _can_append(witness: Path | None) -> bool:
    if witness is None:
        return True
    try:
        # Opened as the writer opens it (created if missing): nothing is written.
        os.close(os.open(witness, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640))
    except OSError:
        return False
    return True


@audit.command("rotate-signing-key")
def rotate_signing_key() -> None:
    """Retire the checkpoint signing key for a new one, and sign a checkpoint with it.

    The retired public key is appended to the key ring (BTAM_AUDIT_PUBLIC_KEYS_FILE) so
    every checkpoint it signed still verifies; the retired private key is not kept.
    """
    settings = _settings()
    path, ring = settings.audit_signing_key_file, settings.audit_public_keys_file
    if ring is None:
        raise CannotRun("no key ring file is configured (BTAM_AUDIT_PUBLIC_KEYS_FILE)")
    with _audit_sessions(settings) as sessions:
        # Refuse before touching the key when the trail could not record the rotation.
        engine = sessions.kw["bind"]
        if not (takes_writes(engine, audit_store_probe) and _can_append(settings.audit_witness)):
            raise CannotRun(
                "the audit store or its witness cannot record the rotation now; "
                "the signing key is unchanged"
            )
        try:
            retired, new = rotate_signing_key_file(path, ring, now=utcnow())
        except SigningKeyError as exc:
            raise CannotRun(str(exc)) from None
        event = AuditEvent(
            action=AuditAction.AUDIT_SIGNING_KEY_ROTATED,
            object_type="signing_key",
            object_id=key_fingerprint(new),
            purpose=f"retired key {key_fingerprint(retired)}",
        )
        try:
            signed = writer_for(settings, sessions).checkpoint(AuditContext.system(), event)
        except (SigningKeyError, AuditUnavailable) as exc:
            raise CannotRun(
                f"the key was rotated but its checkpoint failed ({exc}); "
                "run `btam audit checkpoint` once the audit store is back"
            ) from None
    assert signed is not None  # noqa: S101  (a checkpoint with a context always signs)
    click.echo(f"retired key {key_fingerprint(retired)} (its public key is kept in {ring})")
    click.echo(f"new key {key_fingerprint(new)} signed checkpoint #{signed.id} at seq {signed.seq}")


@audit.command("public-key")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Print the retired keys of the ring too, oldest first: every key that verifies.",
)
def public_key(everything: bool) -> None:
    """Print the PEM key that verifies checkpoints (the key ids go to stderr)."""
    settings = _settings()
    try:
        key = load_signing_key(settings.audit_signing_key_file)
        retired = (
            load_key_ring(settings.audit_public_keys_file)
            if everything and settings.audit_public_keys_file is not None
            else []
        )
    except SigningKeyError as exc:
        raise CannotRun(str(exc)) from None
    for old in retired:
        click.echo(public_key_pem(old), nl=False)
        click.echo(f"retired key id {key_fingerprint(old)}", err=True)
    click.echo(public_key_pem(key), nl=False)
    click.echo(f"key id {key_fingerprint(key)}", err=True)


@audit.command("reconcile")
@click.option(
    "--settle",
    "settle_seconds",
    type=click.IntRange(min=0),
    default=120,
    show_default=True,
    metavar="SECONDS",
    help="Entries younger than this may still be committing their change: not checked.",
)
@click.option(
    "--show",
    type=click.IntRange(min=1, max=1000),
    default=10,
    show_default=True,
    help="How many differences to list.",
)
def reconcile_command(settle_seconds: int, show: int) -> None:
    """Compare the trail with the case store's record of applied changes; exit 1 on any gap."""
    settings = _settings()
    with (
        _audit_sessions(settings) as audit_sessions,
        _sessions(settings.database_url, "case store", immediate=False) as case_sessions,
    ):
        try:
            result = reconcile(
                audit_sessions,
                applied_seqs(case_sessions),
                keep=show,
                settle=timedelta(seconds=settle_seconds),
            )
        except SQLAlchemyError:
            raise CannotRun("a store cannot be read (is it migrated? see the log)") from None
    _report(result)


def _report(result: ReconcileResult) -> None:
    if result.ok:
        click.echo(result.summary)
        return
    click.echo(result.summary, err=True)
    for difference in result.first:
        action = f" {difference.action}" if difference.action else ""
        click.echo(f"  seq {difference.seq}{action}: {difference.problem}", err=True)
    if result.differences > len(result.first):
        click.echo(f"  ... and {result.differences - len(result.first)} more", err=True)
    sys.exit(1)


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
