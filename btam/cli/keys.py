"""``btam keys``: what the keys protect, and their rotation while the app keeps serving.

- ``btam keys status``: the KEK versions in the key file, every data key (scope kind, KEK
  version, state) and how many encrypted fields each protects (read from ciphertext
  headers, nothing decrypted).
- ``btam keys rotate``: a new KEK version in the key file, then every data key re-wrapped.
- ``btam keys rotate --reencrypt``: that, then a new data key per scope and every encrypted
  field re-encrypted in batches; the old keys are retired once no field uses them.

A run stopped part-way is finished by running the same command again: it never adds a
second KEK version or a second new data key for a scope. Every failure exits 1 with a
one-line reason.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext
from btam.audit.signing import SigningKeyError
from btam.audit.writer import AuditUnavailable
from btam.db import make_engine, open_stores
from btam.security.crypto import CryptoError, KeyFileError
from btam.security.key_rotation import (
    KeyFileLock,
    add_kek_version,
    data_keys,
    live_keys_behind,
    retire_unused_keys,
    rewrap_data_keys,
    rotation_in_progress,
    start_data_key_rotation,
)
from btam.security.keys import KekMismatch, KekSource, check_kek_matches, scope_kind, session_info
from btam.settings import ConfigError, Settings, load_settings


class KeysFailed(click.ClickException):
    """The command could not finish; the message is the one-line reason."""

    exit_code = 1


@dataclass(frozen=True)
class _Store:
    settings: Settings
    source: KekSource
    engine: Engine
    sessions: sessionmaker[Session]


@contextmanager
def _case_store() -> Iterator[_Store]:
    try:
        settings = load_settings()
        source = KekSource.load(settings.key_file)
    except ConfigError as exc:
        raise KeysFailed(f"configuration: {exc}") from None
    except KeyFileError as exc:
        raise KeysFailed(f"encryption key: {exc.reason}") from None
    # BEGIN IMMEDIATE on SQLite: a batch takes the write lock before it reads, so it waits
    # for the app's writers instead of failing on a stale snapshot. PostgreSQL ignores it.
    engine = make_engine(settings.database_url, immediate=True)
    sessions = sessionmaker(engine, expire_on_commit=False, info=session_info(source))
    try:
        yield _Store(settings, source, engine, sessions)
    except (OperationalError, ProgrammingError) as exc:
        # The driver's message may quote SQL parameters (ciphertexts); say only what failed.
        raise KeysFailed(
            f"the case store failed ({type(exc.orig).__name__}); run the command again "
            "to continue where it stopped"
        ) from None
    except CryptoError as exc:
        raise KeysFailed(str(exc)) from None
    finally:
        engine.dispose()


class _Bars:
    """One click progress bar per phase, on a terminal only."""

    def __init__(self) -> None:
        self._label: str | None = None
        self._context: AbstractContextManager[Any] | None = None
        self._bar: Any = None
        self._done = 0

    def __call__(self, label: str, done: int, total: int) -> None:
        if not sys.stdout.isatty():
            return
        if label != self._label:
            self.close()
            self._label = label
            self._context = click.progressbar(length=max(total, 1), label=label)
            self._bar = self._context.__enter__()
            self._done = 0
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None


def _record(settings: Settings, action: AuditAction, outcome: Outcome, purpose: str) -> None:
    """Append one entry by the system actor; a rotation the trail cannot record does not run."""
    from btam.audit.writer import writer_from_settings

    stores = open_stores(settings.database_url, settings.audit_database_url)
    try:
        writer_from_settings(settings, stores).append(
            AuditContext.system(), action=action, outcome=outcome, purpose=purpose
        )
    except (AuditUnavailable, SigningKeyError) as exc:
        raise KeysFailed(f"audit trail: {exc}") from None
    finally:
        stores.dispose()


def _import_models() -> None:
    # The registry of encrypted fields fills as model modules are imported.
    import btam.models  # noqa: F401


@click.group("keys")
def keys() -> None:
    """Show and rotate the encryption keys."""


@keys.command("status")
@click.option("--summary", is_flag=True, help="One line per scope kind, KEK version and state.")
def status(summary: bool) -> None:
    """KEK versions, data keys and how many encrypted fields each protects."""
    from btam.security.reencryption import field_usage

    _import_models()
    with _case_store() as store:
        kek = store.source.kek
        listed = data_keys(store.sessions)
        usage = field_usage(store.sessions)
        try:
            check_kek_matches(store.sessions, store.source)
            mismatch = None
        except KekMismatch as exc:
            mismatch = str(exc)
    versions = ", ".join(str(v) for v in kek.versions)
    click.echo(
        f"key file {store.source.path}: KEK versions {versions} (current {kek.current_version})"
    )
    wrapping = Counter(k.kek_version for k in listed if k.state != "destroyed")
    for version in kek.versions:
        if version == kek.current_version:
            note = " (current: wraps new data keys)"
        elif wrapping[version]:
            note = ""
        else:
            note = " (removable once no backup made before its last re-wrap is kept)"
        click.echo(f"  KEK version {version} wraps {wrapping[version]} data key(s){note}")
    states = Counter(k.state for k in listed)
    click.echo(
        f"data keys: {len(listed)} ({states['current']} current, {states['superseded']} "
        f"superseded, {states['retired']} retired, {states['destroyed']} destroyed)"
    )
    if summary:
        groups: Counter[tuple[str, int, str]] = Counter()
        fields: Counter[tuple[str, int, str]] = Counter()
        for k in listed:
            group = (scope_kind(k.scope), k.kek_version, k.state)
            groups[group] += 1
            fields[group] += usage.by_key[k.id]
        click.echo(f"  {'scope kind':<14}{'KEK':>5}  {'state':<11}{'keys':>8}{'fields':>10}")
        for group in sorted(groups):
            kind, version, state = group
            click.echo(
                f"  {kind:<14}{'v' + str(version):>5}  {state:<11}{groups[group]:>8}"
                f"{fields[group]:>10}"
            )
    else:
        click.echo(f"  {'key id':>8}  {'scope kind':<14}{'KEK':>5}  {'state':<11}{'fields':>8}")
        for k in listed:
            click.echo(
                f"  {k.id:>8}  {scope_kind(k.scope):<14}{'v' + str(k.kek_version):>5}  "
                f"{k.state:<11}{usage.by_key[k.id]:>8}"
            )
    known = {k.id for k in listed}
    orphans = sum(n for key_id, n in usage.by_key.items() if key_id not in known)
    click.echo(
        f"encrypted fields: {usage.total}"
        + (f", {orphans} naming no stored key" if orphans else "")
        + (f", {usage.unreadable} unreadable" if usage.unreadable else "")
    )
    if mismatch is not None:
        raise KeysFailed(mismatch)


@keys.command("rotate")
@click.option(
    "--reencrypt",
    is_flag=True,
    help="Also give every scope a new data key and re-encrypt every field under it.",
)
@click.option(
    "--no-rewrap",
    is_flag=True,
    help="Only add the new KEK version to the key file (to copy it to every host first); "
    "run `btam keys rotate` again to re-wrap.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=10_000),
    default=2000,
    show_default=True,
    help="Rows per transaction (re-encryption: also at most 8 MiB of ciphertext).",
)
def rotate(reencrypt: bool, no_rewrap: bool, batch_size: int) -> None:
    """Add a KEK version and re-wrap every data key; with --reencrypt, new data keys too."""
    if reencrypt and no_rewrap:
        raise click.UsageError("--reencrypt and --no-rewrap do not go together")
    _import_models()
    action = AuditAction.SYSTEM_KEYS_REENCRYPTED if reencrypt else AuditAction.SYSTEM_KEYS_ROTATED
    with _case_store() as store:
        # Recorded before any key changes (fail closed), and again if the run fails.
        _record(store.settings, action, Outcome.ALLOWED, "started")
        try:
            _rotate(store, reencrypt=reencrypt, no_rewrap=no_rewrap, batch_size=batch_size)
        except Exception:
            _record(store.settings, action, Outcome.ERROR, "stopped before the end")
            raise


def _rotate(store: _Store, *, reencrypt: bool, no_rewrap: bool, batch_size: int) -> None:
    from btam.security.reencryption import reencrypt_fields

    bars = _Bars()
    try:
        lock = KeyFileLock(store.settings.key_file)
        with lock:
            source = store.source
            try:
                check_kek_matches(store.sessions, source)
            except KekMismatch as exc:
                raise KeysFailed(str(exc)) from None
            # Resume before adding anything: keys still behind the current version mean
            # an earlier run stopped; a rotation of data keys under way means the same.
            behind = live_keys_behind(store.sessions, source.kek.current_version)
            resuming_fields = reencrypt and rotation_in_progress(store.sessions)
            if behind:
                click.echo(
                    f"{behind} data key(s) are behind KEK version "
                    f"{source.kek.current_version}: finishing that rotation"
                )
            elif resuming_fields:
                click.echo("finishing the re-encryption an earlier run started")
            else:
                version = add_kek_version(lock)
                source = KekSource.load(store.settings.key_file)
                store = _Store(
                    store.settings,
                    source,
                    store.engine,
                    sessionmaker(store.engine, expire_on_commit=False, info=session_info(source)),
                )
                click.echo(f"added KEK version {version} to {store.settings.key_file}")
            if no_rewrap:
                click.echo(
                    "copy the key file to every host running BTAM, then run "
                    "`btam keys rotate` to re-wrap the data keys"
                )
                return
            rewrapped = rewrap_data_keys(
                store.sessions, source, batch_size=batch_size, progress=bars
            )
            bars.close()
            click.echo(
                f"re-wrapped {rewrapped.rewrapped} data key(s) under KEK version "
                f"{rewrapped.version}"
            )
            if rewrapped.failed:
                raise KeysFailed(
                    f"{rewrapped.failed} data key(s) could not be unwrapped and were left "
                    "as they are; see the log"
                )
            if not reencrypt:
                return
            if not resuming_fields:
                scopes = start_data_key_rotation(store.sessions, source)
                click.echo(f"new data keys for {scopes} scope(s)")
            result = reencrypt_fields(store.sessions, batch_size=batch_size, progress=bars)
            bars.close()
            click.echo(
                f"re-encrypted {result.moved} field(s); {result.checked} checked in the "
                f"last of {result.passes} pass(es)"
                + (f"; {result.destroyed} under destroyed keys left" if result.destroyed else "")
            )
            if result.failed:
                raise KeysFailed(
                    f"{result.failed} field(s) failed authentication and were left under "
                    "their old keys; see the log"
                )
            if not result.complete:
                raise KeysFailed(
                    "the app kept writing under the old keys; run the command again to finish"
                )
            retired = retire_unused_keys(store.sessions, result.in_use)
            click.echo(f"retired {retired} data key(s) no field uses any more")
    finally:
        bars.close()
