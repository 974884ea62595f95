"""Data keys in the case store: one per scope, wrapped by the KEK, rotated, and destroyable.

A *scope* names what a data key protects: ``accounts`` (users' MFA secrets), ``case:17``,
``person:3``, and ``blind-index`` (the root key of the blind indexes, never a field key).
Each scope has exactly one *current* key, which encrypts new values; older keys of the
scope stay readable until re-encryption has moved every field off them (then they are
*retired*, still able to decrypt). Destroying a scope erases the wrapped bytes of all its
keys (crypto-shredding): its fields can never be decrypted again, and nothing new can be
encrypted under it.

Unwrapped keys live in a :class:`KeyRing` held in ``Session.info`` and are forgotten at
the end of every transaction, never shared by a process: a destruction committed by
another worker holds for this one's next transaction.

The KEK reaches sessions through the sessionmaker's ``info`` (:func:`session_info`), set
up by ``build_runtime``.
"""

from __future__ import annotations

import base64
import fcntl
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, cast

from sqlalchemy import (
    CheckConstraint,
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column, sessionmaker

from btam.db import CaseBase, UTCDateTime, utcnow
from btam.security.blind_index import PersonIndexes, choose_bits
from btam.security.crypto import (
    KEY_SIZE,
    CryptoError,
    DecryptionFailed,
    FieldCipher,
    Kek,
    KeyFileError,
    UnknownKeyVersion,
    UnsupportedFormat,
    load_kek,
    new_data_key,
    peek_kek_version,
    unwrap_data_key,
    wrap_data_key,
)

__all__ = [
    "ACCOUNTS_SCOPE",
    "BLIND_INDEX_SCOPE",
    "DEFAULT_PLANNING_PEOPLE",
    "KEK_INFO",
    "DataKey",
    "KekMismatch",
    "KekSource",
    "KeyDestroyed",
    "KeyFileLock",
    "KeyRing",
    "KeyRingUnavailable",
    "RotationBusy",
    "UnknownDataKey",
    "add_kek_version",
    "check_kek_matches",
    "destroy_scope",
    "keyring_for",
    "person_indexes",
    "retire_unused_keys",
    "rewrap_data_keys",
    "scope_kind",
    "session_info",
    "start_data_key_rotation",
]

log = logging.getLogger(__name__)

KEK_INFO: Final = "btam.kek"
_RING_INFO: Final = "btam.keyring"

ACCOUNTS_SCOPE: Final = "accounts"
BLIND_INDEX_SCOPE: Final = "blind-index"
# The blind indexes are sized for this many people until a setting says otherwise. Planning
# low is the safe direction (see choose_bits): more candidates to confirm, never fewer rows
# sharing an index value than planned.
DEFAULT_PLANNING_PEOPLE: Final = 100_000

_SCOPE: Final = re.compile(r"[a-z][a-z-]{0,31}(:[A-Za-z0-9_-]{1,31})?")
_SCOPE_LENGTH: Final = 64


class DataKey(CaseBase):
    """One data key, stored wrapped by the KEK; its id is the key id in ciphertext headers."""

    __tablename__ = "data_keys"
    __table_args__ = (
        # A scope has at most one current key: two workers creating a scope's first key at
        # once collide here, and the loser uses the winner's key.
        CheckConstraint("current_for IS NULL OR current_for = scope", name="current_is_own_scope"),
        CheckConstraint(
            "(wrapped IS NULL AND destroyed_at IS NOT NULL) "
            "OR (wrapped IS NOT NULL AND destroyed_at IS NULL)",
            name="destroyed_has_no_key",
        ),
        # Never reuse a key id, even of the newest row: a ciphertext names its key by id.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(_SCOPE_LENGTH), index=True)
    # Equal to ``scope`` while this is the scope's current key, else NULL (unique).
    current_for: Mapped[str | None] = mapped_column(
        String(_SCOPE_LENGTH), unique=True, nullable=True
    )
    kek_version: Mapped[int] = mapped_column(Integer)
    # NULL once destroyed: the key cannot be recovered from the store, any backup made
    # after that, or the KEK.
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


_keys: Table = cast(Table, DataKey.__table__)


# --------------------------------------------------------------------------- errors


class KeyDestroyed(CryptoError):
    """The data key was destroyed (crypto-shredding): what it protected is gone for good."""

    def __init__(self, key_id: int, scope: str) -> None:
        self.key_id = key_id
        self.scope = scope
        super().__init__(f"data key {key_id} of scope {scope!r} was destroyed")


class UnknownDataKey(CryptoError):
    """A ciphertext names a data key id the case store does not hold."""

    def __init__(self, key_id: int) -> None:
        self.key_id = key_id
        super().__init__(f"the case store holds no data key {key_id}")


class KeyRingUnavailable(CryptoError):
    """A session without the KEK met an encrypted field (opened outside ``build_runtime``)."""


class KekMismatch(CryptoError):
    """The key file cannot unwrap the data keys of the case store: the wrong key file."""


class RotationBusy(CryptoError):
    """Another rotation holds the key file lock."""


# --------------------------------------------------------------------------- the KEK


class KekSource:
    """The KEK of one process, re-read from its file when a data key names a newer version.

    ``btam keys rotate`` adds a KEK version and re-wraps data keys while the app runs;
    workers started earlier then meet the new version and pick it up from the file instead
    of failing until restarted.
    """

    __slots__ = ("_kek", "_path")

    def __init__(self, kek: Kek, *, path: Path | None = None) -> None:
        """Hold ``kek``; with ``path``, versions it lacks are looked for in that file."""
        self._kek = kek
        self._path = path

    @classmethod
    def load(cls, path: Path) -> KekSource:
        """Load the key file at ``path``.

        :raises KeyFileError: missing, unreadable, too widely readable or malformed.
        """
        return cls(load_kek(path), path=path)

    @property
    def kek(self) -> Kek:
        """The KEK as last loaded; its current version wraps new data keys."""
        return self._kek

    @property
    def path(self) -> Path | None:
        """The key file, if this KEK came from one."""
        return self._path

    def for_version(self, version: int) -> Kek:
        """Return the KEK, first re-read from the key file if it lacks ``version``.

        Never raises: when no file holds the version, unwrapping with the KEK returned
        raises ``UnknownKeyVersion``, which names it.
        """
        kek = self._kek
        if version in kek.versions or self._path is None:
            return kek
        try:
            fresh = load_kek(self._path)
        except KeyFileError as exc:
            # Keep serving with the KEK loaded at start; the operator sees why in the log.
            log.error("cannot re-read the key file: %s", exc.reason)
            return kek
        if version in fresh.versions:
            self._kek = fresh
            return fresh
        return kek

    def __repr__(self) -> str:
        return f"KekSource({self._kek!r}, path={self._path})"


def session_info(source: KekSource) -> dict[str, Any]:
    """What a case-store sessionmaker's ``info`` holds so its sessions can use encryption."""
    return {KEK_INFO: source}


def scope_kind(scope: str) -> str:
    """The kind of a scope: ``case`` for ``case:17``, ``accounts`` for ``accounts``."""
    return scope.split(":", 1)[0]


def _check_scope(scope: str) -> str:
    if not isinstance(scope, str) or _SCOPE.fullmatch(scope) is None:
        raise ValueError("a scope is a lower-case kind, optionally ':' and an id (case:17)")
    return scope


# --------------------------------------------------------------------------- the key ring


class KeyRing:
    """The data keys one session uses, unwrapped on demand and kept until its transaction ends.

    Reads and writes ``data_keys`` with Core statements on the session's own connection, so
    it can run inside a flush and never adds ORM objects to the session.
    """

    __slots__ = ("_by_id", "_current", "_session", "_source")

    def __init__(self, session: Session, source: KekSource) -> None:
        """Bind the ring to ``session``'s connection and to the process's KEK."""
        self._session = session
        self._source = source
        self._by_id: dict[int, FieldCipher] = {}
        self._current: dict[str, tuple[int, bytes]] = {}

    def __repr__(self) -> str:
        return f"KeyRing(cached={sorted(self._by_id)})"

    @property
    def source(self) -> KekSource:
        """Where this ring's KEK comes from."""
        return self._source

    def forget(self) -> None:
        """Drop every unwrapped key (the transaction ended; another may have destroyed one)."""
        self._by_id.clear()
        self._current.clear()

    def _connection(self) -> Connection:
        return self._session.connection()

    def current_cipher(self, scope: str) -> FieldCipher:
        """Return the cipher of ``scope``'s current key, creating the key on first use.

        :raises ValueError: a malformed scope, or the reserved blind-index scope.
        :raises KeyDestroyed: the scope was destroyed; nothing may be encrypted under it.
        :raises UnknownKeyVersion: the key's KEK version is in no key file this process sees.
        :raises DecryptionFailed: the key file cannot unwrap the key (the wrong key file).
        """
        if _check_scope(scope) == BLIND_INDEX_SCOPE:
            raise ValueError("the blind-index key is not a field key")
        key_id, key = self._current_key(scope)
        cipher = self._by_id.get(key_id)
        if cipher is None:
            cipher = self._by_id[key_id] = FieldCipher(key, key_id=key_id)
        return cipher

    def cipher_for(self, key_id: int) -> FieldCipher:
        """Return the cipher of data key ``key_id``, current or not, to decrypt with.

        :raises UnknownDataKey: no such data key.
        :raises KeyDestroyed: the key was destroyed.
        :raises UnknownKeyVersion: the key's KEK version is in no key file this process sees.
        :raises DecryptionFailed: the key file cannot unwrap the key.
        """
        cipher = self._by_id.get(key_id)
        if cipher is None:
            row = self._connection().execute(_key_columns().where(_keys.c.id == key_id)).first()
            # The blind-index root key never encrypts a field, so it never decrypts one.
            if row is None or row.scope == BLIND_INDEX_SCOPE:
                raise UnknownDataKey(key_id)
            cipher = self._by_id[key_id] = FieldCipher(self._unwrap(row), key_id=key_id)
        return cipher

    def blind_index_root_key(self) -> bytes:
        """Return the blind-index root key, creating it on first use.

        :raises KeyDestroyed: the blind-index key was destroyed.
        :raises UnknownKeyVersion: as :meth:`current_cipher`.
        :raises DecryptionFailed: as :meth:`current_cipher`.
        """
        return self._current_key(BLIND_INDEX_SCOPE)[1]

    def _current_key(self, scope: str) -> tuple[int, bytes]:
        cached = self._current.get(scope)
        if cached is None:
            row = self._select_current(scope)
            if row is None:
                row = self._create(scope)
            cached = self._current[scope] = (row.id, self._unwrap(row))
        return cached

    def _select_current(self, scope: str) -> Any | None:
        return (
            self._connection().execute(_key_columns().where(_keys.c.current_for == scope)).first()
        )

    def _create(self, scope: str) -> Any:
        kek = self._source.kek
        wrapped = wrap_data_key(kek, new_data_key(), purpose=scope)
        _insert_current(
            self._connection(), scope=scope, kek_version=kek.current_version, wrapped=wrapped
        )
        row = self._select_current(scope)
        if row is None:  # the winner of a race rolled back after we lost: try once more
            _insert_current(
                self._connection(), scope=scope, kek_version=kek.current_version, wrapped=wrapped
            )
            row = self._select_current(scope)
        if row is None:
            raise CryptoError(f"no current data key for scope {scope!r} could be stored")
        return row

    def _unwrap(self, row: Any) -> bytes:
        if row.wrapped is None or row.destroyed_at is not None:
            raise KeyDestroyed(row.id, row.scope)
        # The header, not the column, says which KEK version wrapped it: the header is
        # authenticated, the column is only for status and rotation queries.
        kek = self._source.for_version(peek_kek_version(row.wrapped))
        return unwrap_data_key(kek, row.wrapped, purpose=row.scope)


def _key_columns() -> Any:
    return select(_keys.c.id, _keys.c.scope, _keys.c.wrapped, _keys.c.destroyed_at)


def _insert_current(
    conn: Connection, *, scope: str, kek_version: int, wrapped: bytes | None
) -> bool:
    """Insert ``scope``'s current key in a savepoint; False when another worker's came first."""
    values: dict[str, Any] = {
        "scope": scope,
        "current_for": scope,
        "kek_version": kek_version,
        "wrapped": wrapped,
        "created_at": utcnow(),
    }
    if wrapped is None:
        values["destroyed_at"] = values["retired_at"] = values["created_at"]
    # A savepoint, so that losing the race on the unique current_for leaves the caller's
    # transaction usable (PostgreSQL aborts a whole transaction on any error otherwise).
    savepoint = conn.begin_nested()
    try:
        conn.execute(insert(_keys).values(values))
    except IntegrityError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def keyring_for(session: Session) -> KeyRing:
    """Return the session's key ring, made on first use from the KEK in ``session.info``.

    :raises KeyRingUnavailable: the session's sessionmaker was not given the KEK.
    """
    ring = session.info.get(_RING_INFO)
    if ring is None:
        source = session.info.get(KEK_INFO)
        if not isinstance(source, KekSource):
            raise KeyRingUnavailable(
                "this session has no key-encryption key: open the case store through "
                "build_runtime (or pass keys.session_info to its sessionmaker)"
            )
        ring = session.info[_RING_INFO] = KeyRing(session, source)
    return cast(KeyRing, ring)


@event.listens_for(Session, "after_transaction_end")
def _forget_keys_at_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # Unwrapped keys last one transaction at most: the next one re-reads data_keys and so
    # sees a destruction or rotation committed meanwhile by any other process.
    if transaction.parent is None:
        ring = session.info.get(_RING_INFO)
        if ring is not None:
            ring.forget()


# --------------------------------------------------------------------------- services


def destroy_scope(session: Session, scope: str) -> int:
    """Erase every data key of ``scope`` (crypto-shredding); the caller commits.

    Its fields then raise KeyDestroyed on every read, and nothing new can be encrypted under
    the scope. Returns how many keys were destroyed; a scope that never had a key gets a
    destroyed placeholder, so that none is created for it later.

    :raises ValueError: a malformed scope, or the blind-index scope (whose loss would make
        every person's earlier records unfindable, not any one record unreadable).
    """
    if _check_scope(scope) == BLIND_INDEX_SCOPE:
        raise ValueError("the blind-index key cannot be destroyed")
    now = utcnow()
    conn = session.connection()
    destroy = (
        update(_keys)
        .where(_keys.c.scope == scope, _keys.c.destroyed_at.is_(None))
        .values(wrapped=None, destroyed_at=now, retired_at=func.coalesce(_keys.c.retired_at, now))
    )
    destroyed = conn.execute(destroy).rowcount
    has_current = conn.execute(select(_keys.c.id).where(_keys.c.current_for == scope)).first()
    if has_current is None and not _insert_current(conn, scope=scope, kek_version=0, wrapped=None):
        # A worker created the scope's first key meanwhile: destroy that one too.
        destroyed += conn.execute(destroy).rowcount
    ring = session.info.get(_RING_INFO)
    if ring is not None:
        ring.forget()
    log.info("destroyed %d data key(s) of scope %s", destroyed, scope)
    return destroyed


def person_indexes(
    session: Session, *, planning_rows: int = DEFAULT_PLANNING_PEOPLE
) -> PersonIndexes:
    """Return the blind indexes of people under the blind-index root key of the case store.

    Both indexes sit on one row, so each gets ``choose_bits(planning_rows, indexes=2)`` bits.

    :raises KeyRingUnavailable: the session has no KEK.
    :raises KeyDestroyed: the blind-index key was destroyed.
    :raises DecryptionFailed: the key file cannot unwrap the blind-index key.
    """
    bits = choose_bits(planning_rows, indexes=2)
    root = keyring_for(session).blind_index_root_key()
    return PersonIndexes(root, student_id_bits=bits, name_dob_bits=bits)


def check_kek_matches(sessions: sessionmaker[Session], source: KekSource) -> None:
    """Refuse a key file that cannot unwrap the case store's data keys (one per KEK version).

    Skipped, with a warning, when the store cannot be reached or is not migrated yet: the
    health check reports the first, ``btam init`` fixes the second, and no key is made then.

    :raises KekMismatch: a version in use is missing from the key file, or cannot unwrap.
    """
    where = f"key file {source.path}" if source.path is not None else "the KEK"
    try:
        with sessions() as db:
            firsts = db.execute(
                select(_keys.c.kek_version, func.min(_keys.c.id))
                .where(_keys.c.wrapped.is_not(None))
                .group_by(_keys.c.kek_version)
            ).all()
            rows = [
                db.execute(select(_keys.c.scope, _keys.c.wrapped).where(_keys.c.id == key_id)).one()
                for _version, key_id in firsts
            ]
    except (OperationalError, ProgrammingError):
        log.warning("could not check the KEK against the case store's data keys")
        return
    for (version, key_id), row in zip(firsts, rows, strict=True):
        try:
            kek = source.for_version(version)
            unwrap_data_key(kek, row.wrapped, purpose=row.scope)
        except UnknownKeyVersion:
            raise KekMismatch(
                f"data keys are wrapped by KEK version {version}, which {where} does not hold"
            ) from None
        except (DecryptionFailed, UnsupportedFormat):
            raise KekMismatch(
                f"{where} does not match the case store: KEK version {version} cannot "
                f"unwrap data key {key_id}"
            ) from None


# --------------------------------------------------------------------------- rotation


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
    pending = (_keys.c.wrapped.is_not(None), _keys.c.kek_version < target)
    with sessions() as db:
        total = db.execute(select(func.count()).select_from(_keys).where(*pending)).scalar_one()
    done = rewrapped = failed = 0
    after = 0
    while True:
        with sessions() as db, db.begin():
            rows = db.execute(
                select(_keys.c.id, _keys.c.scope, _keys.c.wrapped)
                .where(*pending, _keys.c.id > after)
                .order_by(_keys.c.id)
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
                        update(_keys)
                        .where(_keys.c.id == row.id, _keys.c.wrapped == row.wrapped)
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
                .select_from(_keys)
                .where(_keys.c.wrapped.is_not(None), _keys.c.kek_version < version)
            ).scalar_one()
        )


def rotation_in_progress(sessions: sessionmaker[Session]) -> bool:
    """Whether some scope still has a superseded key that is neither retired nor destroyed."""
    with sessions() as db:
        return (
            db.execute(
                select(_keys.c.id)
                .where(
                    _keys.c.current_for.is_(None),
                    _keys.c.retired_at.is_(None),
                    _keys.c.destroyed_at.is_(None),
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
            select(_keys.c.id, _keys.c.scope).where(
                _keys.c.current_for.is_not(None),
                _keys.c.destroyed_at.is_(None),
                _keys.c.scope != BLIND_INDEX_SCOPE,
            )
        ).all()
        for key_id, scope in scopes:
            conn.execute(update(_keys).where(_keys.c.id == key_id).values(current_for=None))
            conn.execute(
                insert(_keys).values(
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
            select(_keys.c.id).where(
                _keys.c.current_for.is_(None),
                _keys.c.retired_at.is_(None),
                _keys.c.destroyed_at.is_(None),
            )
        ).scalars()
        for key_id in [k for k in candidates if not in_use.get(k)]:
            retired += (
                db.connection()
                .execute(
                    update(_keys)
                    .where(_keys.c.id == key_id, _keys.c.retired_at.is_(None))
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
                _keys.c.id,
                _keys.c.scope,
                _keys.c.kek_version,
                _keys.c.current_for,
                _keys.c.retired_at,
                _keys.c.destroyed_at,
            ).order_by(_keys.c.id)
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
