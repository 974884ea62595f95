"""Data keys in the case store: one per scope, wrapped by the KEK, rotated, and destroyable.

A *scope* names what a data key protects: ``accounts`` (users' MFA secrets), ``case:17``,
``person:3``, and ``blind-index`` (the root key of the blind indexes, never a field key).
Each scope has exactly one *current* key, which encrypts new values; older keys of the
scope stay readable until re-encryption has moved every field off them (then they are
*retired*, still able to decrypt). Destroying a scope erases the wrapped bytes of all its
keys (crypto-shredding): its fields can never be decrypted again, and nothing new can be
encrypted under it. A scope may be *bound* to another (a report's to the case it was triaged
into): destroying the other destroys it too, so that shredding a case leaves nothing of it
readable.

A key decrypts only fields of its own scope: a ciphertext names its key by id, and the ring
refuses a key whose scope is not the scope of the row being read (:class:`KeyOutOfScope`),
so a value moved into another case's row, even bytes that authenticate there, stays sealed.

Unwrapped keys live in a :class:`KeyRing` held in ``Session.info`` and are forgotten at
the end of every transaction, never shared by a process: a destruction committed by
another worker holds for this one's next transaction.

The KEK reaches sessions through the sessionmaker's ``info`` (:func:`session_info`), set
up by ``build_runtime``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
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
    bindparam,
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
    "KeyOutOfScope",
    "KeyRing",
    "KeyRingUnavailable",
    "RotationBusy",
    "ScopeBinding",
    "UnknownDataKey",
    "bind_scope",
    "check_kek_matches",
    "destroy_scope",
    "keyring_for",
    "person_indexes",
    "scope_kind",
    "session_info",
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


DATA_KEYS: Table = cast(Table, DataKey.__table__)


class ScopeBinding(CaseBase):
    """A scope whose keys are destroyed with another's (a report's with its case's)."""

    __tablename__ = "data_key_bindings"

    scope: Mapped[str] = mapped_column(String(_SCOPE_LENGTH), primary_key=True)
    bound_to: Mapped[str] = mapped_column(String(_SCOPE_LENGTH), index=True)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


BINDINGS: Table = cast(Table, ScopeBinding.__table__)


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


class KeyOutOfScope(CryptoError):
    """A ciphertext names a data key of another scope than the row it was found in."""

    def __init__(self, key_id: int, scope: str) -> None:
        self.key_id = key_id
        self.scope = scope
        super().__init__(f"data key {key_id} does not belong to scope {scope!r}")


class KeyRingUnavailable(CryptoError):
    """A session without the KEK met an encrypted field (opened outside ``build_runtime``)."""


class KekMismatch(CryptoError):
    """The key file cannot unwrap the data keys of the case store: the wrong key file."""


class RotationBusy(CryptoError):
    """Another rotation holds the key file lock."""


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


class KeyRing:
    """The data keys one session uses, unwrapped on demand and kept until its transaction ends.

    Reads and writes ``data_keys`` with Core statements on the session's own connection, so
    it can run inside a flush and never adds ORM objects to the session.
    """

    __slots__ = ("_by_id", "_current", "_scopes", "_session", "_source")

    def __init__(self, session: Session, source: KekSource) -> None:
        """Bind the ring to ``session``'s connection and to the process's KEK."""
        self._session = session
        self._source = source
        self._by_id: dict[int, FieldCipher] = {}
        self._scopes: dict[int, str] = {}
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
        self._scopes.clear()
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
            self._scopes[key_id] = scope
        return cipher

    def prepare(self, scopes: list[str]) -> None:
        """Give each of ``scopes`` a current key, creating the missing ones in one statement.

        For loading many new records at once (the benchmarks' generator): one SELECT and one
        INSERT for the lot instead of a savepoint and two SELECTs per new scope. Every key is
        created and wrapped exactly as :meth:`current_cipher` creates it.

        :raises ValueError: a malformed scope, or the reserved blind-index scope.
        :raises IntegrityError: another process created one of the scopes' keys meanwhile.
        """
        wanted = [s for s in dict.fromkeys(scopes) if s not in self._current]
        if any(_check_scope(s) == BLIND_INDEX_SCOPE for s in wanted):
            raise ValueError("the blind-index key is not a field key")
        conn = self._connection()
        found: dict[str, Any] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for row in conn.execute(
                _key_columns()
                .add_columns(DATA_KEYS.c.current_for)
                .where(DATA_KEYS.c.current_for.in_(chunk))
            ):
                found[row.current_for] = row
        for scope, row in found.items():
            self._current[scope] = (row.id, self._unwrap(row))
        missing = [s for s in wanted if s not in found]
        if not missing:
            return
        kek = self._source.kek
        keys = {s: new_data_key() for s in missing}
        now = utcnow()
        conn.execute(
            insert(DATA_KEYS),
            [
                {
                    "scope": s,
                    "current_for": s,
                    "kek_version": kek.current_version,
                    "wrapped": wrap_data_key(kek, key, purpose=s),
                    "created_at": now,
                }
                for s, key in keys.items()
            ],
        )
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            for row in conn.execute(
                select(DATA_KEYS.c.id, DATA_KEYS.c.current_for).where(
                    DATA_KEYS.c.current_for.in_(chunk)
                )
            ):
                self._current[row.current_for] = (row.id, keys[row.current_for])

    def load(self, wanted: dict[int, str]) -> None:
        """Unwrap, with one query, the keys ``wanted`` (key id -> the scope of the row that
        names it) that are not unwrapped yet, for :meth:`cipher_for` to find.

        A key that does not exist, belongs to another scope, was destroyed or cannot be
        unwrapped is left out: :meth:`cipher_for` refuses it as it would have. Decrypting
        many rows of different scopes (blind-index candidates, each a person of its own)
        then costs one query instead of one per row.
        """
        missing = sorted(k for k in wanted if k not in self._by_id)
        conn = self._connection()
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            # Unpacked, not read by name: a batch of many scopes unwraps thousands of keys.
            rows = conn.execute(_KEYS_BY_ID, {"ids": chunk}).all()
            for key_id, scope, wrapped, destroyed_at in rows:
                if scope != wanted[key_id] or scope == BLIND_INDEX_SCOPE:
                    continue
                key = self._unwrap_live(key_id, scope, wrapped, destroyed_at)
                if key is not None:
                    self._by_id[key_id] = FieldCipher(key, key_id=key_id)
                    self._scopes[key_id] = scope

    def current_key_ids(self, scopes: Iterable[str]) -> dict[str, int]:
        """The id of each of ``scopes``' current key, read with one query and never unwrapped.

        Scopes without a current key, or whose current key was destroyed, are left out. To
        tell the fields already under their scope's current key from those to move, without
        unwrapping a key per scope.
        """
        wanted = list(dict.fromkeys(scopes))
        conn = self._connection()
        found: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = conn.execute(_CURRENT_KEY_IDS, {"scopes": chunk}).all()
            found.update(rows)
        return found

    def load_current(self, scopes: Iterable[str]) -> None:
        """Unwrap, with one query, the current keys of ``scopes`` not unwrapped yet, for
        :meth:`current_cipher` to find.

        A scope without a current key, or whose current key was destroyed or cannot be
        unwrapped, is left out: :meth:`current_cipher` creates or refuses it as it would
        have. Re-encrypting a batch of rows of many scopes (each case, report or person
        under its own key) then costs one query instead of one per row.
        """
        missing = [s for s in dict.fromkeys(scopes) if s not in self._current]
        conn = self._connection()
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            rows = conn.execute(_CURRENT_KEYS, {"scopes": chunk}).all()
            # current_for equals scope on a current key (a check constraint says so).
            for key_id, scope, wrapped, destroyed_at in rows:
                if scope == BLIND_INDEX_SCOPE:
                    continue
                key = self._unwrap_live(key_id, scope, wrapped, destroyed_at)
                if key is None:
                    continue
                self._current[scope] = (key_id, key)
                if key_id not in self._by_id:
                    self._by_id[key_id] = FieldCipher(key, key_id=key_id)
                    self._scopes[key_id] = scope

    def cipher_for(self, key_id: int, *, scope: str) -> FieldCipher:
        """Return the cipher of data key ``key_id``, current or not, to decrypt a field of
        ``scope`` with.

        :raises UnknownDataKey: no such data key.
        :raises KeyOutOfScope: the key belongs to another scope (a value moved between rows
            of different cases or people is refused even if its bytes would authenticate).
        :raises KeyDestroyed: the key was destroyed.
        :raises UnknownKeyVersion: the key's KEK version is in no key file this process sees.
        :raises DecryptionFailed: the key file cannot unwrap the key.
        """
        cipher = self._by_id.get(key_id)
        if cipher is None:
            row = self._connection().execute(_key_columns().where(DATA_KEYS.c.id == key_id)).first()
            # The blind-index root key never encrypts a field, so it never decrypts one.
            if row is None or row.scope == BLIND_INDEX_SCOPE:
                raise UnknownDataKey(key_id)
            # Checked before unwrapping: a key of another scope is never used, even destroyed.
            if row.scope != scope:
                raise KeyOutOfScope(key_id, scope)
            cipher = self._by_id[key_id] = FieldCipher(self._unwrap(row), key_id=key_id)
            self._scopes[key_id] = row.scope
        elif self._scopes.get(key_id) != scope:
            raise KeyOutOfScope(key_id, scope)
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
            self._connection()
            .execute(_key_columns().where(DATA_KEYS.c.current_for == scope))
            .first()
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

    def _unwrap_live(
        self, key_id: int, scope: str, wrapped: bytes | None, destroyed_at: datetime | None
    ) -> bytes | None:
        """The key, or None when it is destroyed or cannot be unwrapped here."""
        if wrapped is None or destroyed_at is not None:
            return None
        try:
            return self._unwrap_values(key_id, scope, wrapped, destroyed_at)
        except (DecryptionFailed, UnknownKeyVersion, UnsupportedFormat):
            return None

    def _unwrap(self, row: Any) -> bytes:
        return self._unwrap_values(row.id, row.scope, row.wrapped, row.destroyed_at)

    def _unwrap_values(
        self, key_id: int, scope: str, wrapped: bytes | None, destroyed_at: datetime | None
    ) -> bytes:
        if wrapped is None or destroyed_at is not None:
            raise KeyDestroyed(key_id, scope)
        # The header, not the column, says which KEK version wrapped it: the header is
        # authenticated, the column is only for status and rotation queries.
        kek = self._source.for_version(peek_kek_version(wrapped))
        return unwrap_data_key(kek, wrapped, purpose=scope)


def _key_columns() -> Any:
    return select(DATA_KEYS.c.id, DATA_KEYS.c.scope, DATA_KEYS.c.wrapped, DATA_KEYS.c.destroyed_at)


# The bulk look-ups, built once with their lists bound at execution: building ``in_(list)``
# anew coerces every element, a cost per key when a batch holds a scope per row.
_KEYS_BY_ID = _key_columns().where(DATA_KEYS.c.id.in_(bindparam("ids", expanding=True)))
_CURRENT_KEYS = _key_columns().where(
    DATA_KEYS.c.current_for.in_(bindparam("scopes", expanding=True))
)
_CURRENT_KEY_IDS = select(DATA_KEYS.c.current_for, DATA_KEYS.c.id).where(
    DATA_KEYS.c.current_for.in_(bindparam("scopes", expanding=True)),
    DATA_KEYS.c.wrapped.is_not(None),
    DATA_KEYS.c.destroyed_at.is_(None),
)


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
        conn.execute(insert(DATA_KEYS).values(values))
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


def destroy_scope(session: Session, scope: str) -> int:
    """Erase every data key of ``scope`` and of the scopes bound to it (crypto-shredding);
    the caller commits.

    Their fields then raise KeyDestroyed on every read, and nothing new can be encrypted
    under them. Returns how many keys were destroyed; a scope that never had a key gets a
    destroyed placeholder, so that none is created for it later.

    :raises ValueError: a malformed scope, or the blind-index scope (whose loss would make
        every person's earlier records unfindable, not any one record unreadable).
    """
    if _check_scope(scope) == BLIND_INDEX_SCOPE:
        raise ValueError("the blind-index key cannot be destroyed")
    conn = session.connection()
    destroyed = 0
    pending, seen = [scope], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        destroyed += _destroy_one(conn, current)
        pending.extend(
            conn.execute(select(BINDINGS.c.scope).where(BINDINGS.c.bound_to == current)).scalars()
        )
    ring = session.info.get(_RING_INFO)
    if ring is not None:
        ring.forget()
    log.info("destroyed %d data key(s) of scope %s and %d bound", destroyed, scope, len(seen) - 1)
    return destroyed


def _destroy_one(conn: Connection, scope: str) -> int:
    now = utcnow()
    destroy = (
        update(DATA_KEYS)
        .where(DATA_KEYS.c.scope == scope, DATA_KEYS.c.destroyed_at.is_(None))
        .values(
            wrapped=None, destroyed_at=now, retired_at=func.coalesce(DATA_KEYS.c.retired_at, now)
        )
    )
    destroyed: int = conn.execute(destroy).rowcount
    has_current = conn.execute(
        select(DATA_KEYS.c.id).where(DATA_KEYS.c.current_for == scope)
    ).first()
    if has_current is None and not _insert_current(conn, scope=scope, kek_version=0, wrapped=None):
        # A worker created the scope's first key meanwhile: destroy that one too.
        destroyed += conn.execute(destroy).rowcount
    return destroyed


def bind_scope(session: Session, scope: str, *, to: str) -> None:
    """Make destroying ``to`` destroy ``scope`` too (a report's keys follow its case's).

    Binding again to the same scope changes nothing. The caller commits.

    :raises ValueError: a malformed scope, the blind-index scope, a scope bound to itself,
        or one already bound to another scope.
    """
    if BLIND_INDEX_SCOPE in (_check_scope(scope), _check_scope(to)) or scope == to:
        raise ValueError("bind a field scope to another field scope")
    conn = session.connection()
    found = conn.execute(
        select(BINDINGS.c.bound_to).where(BINDINGS.c.scope == scope)
    ).scalar_one_or_none()
    if found == to:
        return
    if found is not None:
        raise ValueError(f"scope {scope!r} is bound to another scope already")
    conn.execute(insert(BINDINGS).values(scope=scope, bound_to=to, bound_at=utcnow()))


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
                select(DATA_KEYS.c.kek_version, func.min(DATA_KEYS.c.id))
                .where(DATA_KEYS.c.wrapped.is_not(None))
                .group_by(DATA_KEYS.c.kek_version)
            ).all()
            rows = [
                db.execute(
                    select(DATA_KEYS.c.scope, DATA_KEYS.c.wrapped).where(DATA_KEYS.c.id == key_id)
                ).one()
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
