"""Rotating the keys: new KEK versions, re-wrapping data keys, new data keys per scope, and
the state of every key for ``btam keys status``."""

from __future__ import annotations

import base64
import fcntl
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from btam.db import utcnow
from btam.security.crypto import (
    KEY_SIZE,
    DecryptionFailed,
    KeyFileError,
    UnknownKeyVersion,
    UnsupportedFormat,
    load_kek,
    new_data_key,
    peek_kek_version,
    unwrap_data_key,
    wrap_data_key,
)
from btam.security.keys import BLIND_INDEX_SCOPE, DATA_KEYS, KekSource, RotationBusy

log = logging.getLogger(__name__)


class KeyFileLock:
    """An exclusive lock on the key file (``<key file>.lock``), held for a whole rotation.

    flock locks the open file, so it ends with the process: a killed rotation leaves no
    stale lock behind.
    """

    def __init__(self, key_file: Path) -> None:
        """Prepare to lock ``key_file``; nothing is opened until entered."""
        self.key_file = key_file
        self._fd: int | None = None

    def __enter__(self) -> KeyFileLock:
        """Take the lock without waiting.

        :raises RotationBusy: another process holds it.
        :raises KeyFileError: the lock file cannot be opened.
        """
        lock_path = self.key_file.with_name(self.key_file.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as exc:
            raise KeyFileError(f"cannot open lock file {lock_path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RotationBusy(f"another key rotation is running (it holds {lock_path})") from None
        self._fd = fd
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None


def add_kek_version(lock: KeyFileLock) -> int:
    """Append a new random KEK version to the locked key file, atomically; return it.

    The file is rewritten through a private temporary file (mode 0600, fsync, then rename),
    so a crash leaves either the old file or the new one, never a torn one; every earlier
    version is kept, since data keys and backups still need them.

    :raises RotationBusy: the lock is not held.
    :raises KeyFileError: the key file cannot be read, validated or replaced.
    """
    if not lock.held:
        raise RotationBusy("the key file lock is not held")
    path = lock.key_file
    kek = load_kek(path)
    version = kek.current_version + 1
    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        raw += b"\n"
    line = f"btam-kek-v1:{version}:{base64.b64encode(os.urandom(KEY_SIZE)).decode('ascii')}\n"
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        # Left by a rotation killed mid-write; the lock says none is writing now.
        with suppress(OSError):
            stale.unlink()
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(temporary, flags, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw + line.encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
        # Read back through the normal loader: what is renamed into place is known to load.
        if load_kek(temporary).current_version != version:
            raise KeyFileError(f"the rewritten key file {path} does not hold version {version}")
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        raise KeyFileError(f"cannot rewrite key file {path}: {exc.strerror}") from None
    finally:
        with suppress(FileNotFoundError):
            temporary.unlink()
    return version


@dataclass(frozen=True)
class RewrapResult:
    """What re-wrapping did: keys moved to the current KEK version, and keys it could not."""

    version: int
    rewrapped: int
    failed: int


Progress = Callable[[str, int, int], None]


def rewrap_data_keys(
    sessions: sessionmaker[Session],
    source: KekSource,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> RewrapResult:
    """Re-wrap every live data key under the current KEK version, in batches (resumable).

    Keys already on the current version are skipped; each batch commits on its own, and a
    key is only replaced if its wrapped bytes are still the ones read (so a concurrent
    destruction is never undone).

    :raises OperationalError: the case store failed mid-way (committed batches stay done).
    """
    kek = source.kek
    target = kek.current_version
    pending = (DATA_KEYS.c.wrapped.is_not(None), DATA_KEYS.c.kek_version < target)
    with sessions() as db:
        total = db.execute(select(func.count()).select_from(DATA_KEYS).where(*pending)).scalar_one()
    done = rewrapped = failed = 0
    after = 0
    while True:
        with sessions() as db, db.begin():
            rows = db.execute(
                select(DATA_KEYS.c.id, DATA_KEYS.c.scope, DATA_KEYS.c.wrapped)
                .where(*pending, DATA_KEYS.c.id > after)
                .order_by(DATA_KEYS.c.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            for row in rows:
                try:
                    key = unwrap_data_key(
                        source.for_version(peek_kek_version(row.wrapped)),
                        row.wrapped,
                        purpose=row.scope,
                    )
                except (DecryptionFailed, UnknownKeyVersion, UnsupportedFormat) as exc:
                    log.error("cannot re-wrap data key %d: %s", row.id, exc)
                    failed += 1
                    continue
                changed = (
                    db.connection()
                    .execute(
                        update(DATA_KEYS)
                        .where(DATA_KEYS.c.id == row.id, DATA_KEYS.c.wrapped == row.wrapped)
                        .values(
                            wrapped=wrap_data_key(kek, key, purpose=row.scope), kek_version=target
                        )
                    )
                    .rowcount
                )
                rewrapped += changed
            after = rows[-1].id
        done += len(rows)
        if progress is not None:
            progress("Re-wrapping data keys", min(done, total), total)
    return RewrapResult(version=target, rewrapped=rewrapped, failed=failed)


def live_keys_behind(sessions: sessionmaker[Session], version: int) -> int:
    """How many live data keys are wrapped by a KEK version older than ``version``."""
    with sessions() as db:
        return int(
            db.execute(
                select(func.count())
                .select_from(DATA_KEYS)
                .where(DATA_KEYS.c.wrapped.is_not(None), DATA_KEYS.c.kek_version < version)
            ).scalar_one()
        )


def rotation_in_progress(sessions: sessionmaker[Session]) -> bool:
    """Whether some scope still has a superseded key that is neither retired nor destroyed."""
    with sessions() as db:
        return (
            db.execute(
                select(DATA_KEYS.c.id)
                .where(
                    DATA_KEYS.c.current_for.is_(None),
                    DATA_KEYS.c.retired_at.is_(None),
                    DATA_KEYS.c.destroyed_at.is_(None),
                )
                .limit(1)
            ).first()
            is not None
        )


def start_data_key_rotation(sessions: sessionmaker[Session], source: KekSource) -> int:
    """Give every live field scope a new current key, all in one transaction; return how many.

    One transaction, so that an interruption leaves either no scope or every scope rotated
    and a later run knows which (see :func:`rotation_in_progress`). The blind-index key is
    not rotated: its indexes would all change. Destroyed scopes stay destroyed.
    """
    kek = source.kek
    with sessions() as db, db.begin():
        conn = db.connection()
        scopes = conn.execute(
            select(DATA_KEYS.c.id, DATA_KEYS.c.scope).where(
                DATA_KEYS.c.current_for.is_not(None),
                DATA_KEYS.c.destroyed_at.is_(None),
                DATA_KEYS.c.scope != BLIND_INDEX_SCOPE,
            )
        ).all()
        for key_id, scope in scopes:
            conn.execute(update(DATA_KEYS).where(DATA_KEYS.c.id == key_id).values(current_for=None))
            conn.execute(
                insert(DATA_KEYS).values(
                    scope=scope,
                    current_for=scope,
                    kek_version=kek.current_version,
                    wrapped=wrap_data_key(kek, new_data_key(), purpose=scope),
                    created_at=utcnow(),
                )
            )
    return len(scopes)


def retire_unused_keys(sessions: sessionmaker[Session], in_use: Mapping[int, int]) -> int:
    """Mark retired every superseded live key that no field uses (``in_use``: key id → fields).

    A retired key still decrypts: a value written under it by a request that raced the
    final check stays readable, and the next re-encryption moves it.
    """
    now = utcnow()
    retired = 0
    with sessions() as db, db.begin():
        candidates = db.execute(
            select(DATA_KEYS.c.id).where(
                DATA_KEYS.c.current_for.is_(None),
                DATA_KEYS.c.retired_at.is_(None),
                DATA_KEYS.c.destroyed_at.is_(None),
            )
        ).scalars()
        for key_id in [k for k in candidates if not in_use.get(k)]:
            retired += (
                db.connection()
                .execute(
                    update(DATA_KEYS)
                    .where(DATA_KEYS.c.id == key_id, DATA_KEYS.c.retired_at.is_(None))
                    .values(retired_at=now)
                )
                .rowcount
            )
    return retired


@dataclass(frozen=True)
class KeyInfo:
    """One data key as ``btam keys status`` shows it: never its bytes."""

    id: int
    scope: str
    kek_version: int
    state: str


def data_keys(sessions: sessionmaker[Session]) -> list[KeyInfo]:
    """Every data key with its state: current, superseded, retired or destroyed."""
    with sessions() as db:
        rows = db.execute(
            select(
                DATA_KEYS.c.id,
                DATA_KEYS.c.scope,
                DATA_KEYS.c.kek_version,
                DATA_KEYS.c.current_for,
                DATA_KEYS.c.retired_at,
                DATA_KEYS.c.destroyed_at,
            ).order_by(DATA_KEYS.c.id)
        ).all()
    return [KeyInfo(row.id, row.scope, row.kek_version, _state(row)) for row in rows]


def _state(row: Any) -> str:
    if row.destroyed_at is not None:
        return "destroyed"
    if row.current_for is not None:
        return "current"
    if row.retired_at is not None:
        return "retired"
    return "superseded"
