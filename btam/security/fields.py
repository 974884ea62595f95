"""Encrypted model fields: declared once, read and written as plaintext, stored as ciphertext.

A model says, in one line, that a field is encrypted and which data key scope protects it::

    class Note(CaseBase):
        __tablename__ = "notes"
        id: Mapped[int] = mapped_column(primary_key=True)
        case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
        text = encrypted_text("text", scope=lambda note: f"case:{note.case_id}")

That line adds the nullable ``text_enc`` LargeBinary column (the only column the database
sees) and a ``text`` attribute of type ``str | None`` that the rest of the code uses.

Every ciphertext is bound by its associated data to (table, ``_enc`` column, row id). The
row id of a new row exists only after its INSERT, so a value assigned to the attribute is
held on the instance until the flush: the INSERT writes NULL, and the mapper's
``after_insert`` event encrypts with the new id and UPDATEs the ``_enc`` column on the same
connection, inside the same flush and transaction. A change to an existing row is
encrypted in ``before_update`` and goes out with that UPDATE. The scope function is called
at that point, with the row's final column values; it must read columns only (foreign key
ids), never relationships, since it runs inside a flush.

Reading decrypts on first access with the key ring of the instance's session and keeps the
plaintext on the instance as long as the ciphertext it came from is unchanged. A ciphertext
that does not authenticate raises :class:`~btam.security.crypto.DecryptionFailed`, logged
with its table, column and row only; a destroyed key raises
:class:`~btam.security.keys.KeyDestroyed`.

Every encrypted field is registered, so that ``btam keys status`` can count what each key
protects and ``btam keys rotate --reencrypt`` can move every field to new keys.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Self, overload

from sqlalchemy import (
    Column,
    LargeBinary,
    MetaData,
    Table,
    event,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapper, Session, mapped_column, object_session, sessionmaker
from sqlalchemy.orm.attributes import flag_dirty, set_committed_value

from btam.db import CaseBase
from btam.security.crypto import (
    DecryptionFailed,
    UnsupportedFormat,
    peek_key_id,
    reencrypt,
)
from btam.security.keys import (
    KeyDestroyed,
    KeyRing,
    KeyRingUnavailable,
    Progress,
    UnknownDataKey,
    keyring_for,
)

__all__ = [
    "EncryptedText",
    "FieldUsage",
    "ReencryptResult",
    "encrypted_fields",
    "encrypted_text",
    "field_usage",
    "reencrypt_fields",
]

log = logging.getLogger(__name__)

ENC_SUFFIX: Final = "_enc"
# Instance-dict keys: plaintext assigned but not yet flushed, and plaintext already
# decrypted (with the ciphertext it came from). Neither is a mapped attribute, so
# SQLAlchemy never writes, logs or compares them.
_PENDING: Final = "_btam_pending_plaintext"
_CLEAR: Final = "_btam_decrypted"

Scope = str | Callable[[Any], str]


class EncryptedText:
    """A text attribute stored encrypted in ``<name>_enc``; see the module docstring."""

    def __init__(self, name: str, *, scope: Scope) -> None:
        """Describe the encrypted field ``name`` under ``scope`` (a scope or a function of the row).

        :raises ValueError: the name is empty or already ends in ``_enc``.
        """
        if not name or name.endswith(ENC_SUFFIX):
            raise ValueError(f"name the plaintext attribute, not its {ENC_SUFFIX} column")
        self.name = name
        self.column = name + ENC_SUFFIX
        self._scope = scope
        self.owner: type[Any] | None = None

    def __repr__(self) -> str:
        owner = self.owner.__name__ if self.owner is not None else "?"
        return f"EncryptedText({owner}.{self.name} -> {self.column})"

    def __set_name__(self, owner: type[Any], name: str) -> None:
        if name != self.name:
            raise TypeError(f"encrypted_text({self.name!r}) is assigned to {name!r}")
        if self.column in owner.__dict__:
            raise TypeError(f"{owner.__name__}.{self.column} is declared by encrypted_text")
        self.owner = owner
        # Added before declarative mapping scans the class (type.__new__ calls __set_name__
        # first), so the column is mapped like any other. Nullable: a new row's ciphertext
        # is written just after its INSERT, and NULL also means "no value".
        setattr(owner, self.column, mapped_column(self.column, LargeBinary, nullable=True))
        _register(owner, self)

    @property
    def table(self) -> Table:
        """The table holding the ``_enc`` column."""
        if self.owner is None:
            raise TypeError("an encrypted field outside a model")
        table: Table = self.owner.__table__
        return table

    @property
    def table_name(self) -> str:
        """The table name bound into every ciphertext's associated data."""
        return self.table.name

    def scope_of(self, row: object) -> str:
        """The data key scope protecting this field of ``row``."""
        return self._scope if isinstance(self._scope, str) else self._scope(row)

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type[Any]) -> str | None: ...

    def __get__(self, instance: object | None, owner: type[Any]) -> Self | str | None:
        """The plaintext: assigned and not yet flushed, or decrypted from ``<name>_enc``.

        :raises DecryptionFailed: the ciphertext does not authenticate for this row and
            column (moved, tampered, or under an unknown key); logged without content.
        :raises KeyDestroyed: the key it was encrypted under was destroyed.
        :raises KeyRingUnavailable: the row is outside a session, or its session has no KEK.
        """
        if instance is None:
            return self
        pending = instance.__dict__.get(_PENDING)
        if pending is not None and self.name in pending:
            value: str | None = pending[self.name]
            return value
        ciphertext = getattr(instance, self.column)
        if ciphertext is None:
            return None
        decrypted = instance.__dict__.get(_CLEAR)
        if decrypted is not None:
            cached = decrypted.get(self.name)
            if cached is not None and cached[0] == ciphertext:
                text: str = cached[1]
                return text
        session = object_session(instance)
        if session is None:
            raise KeyRingUnavailable(
                f"cannot decrypt {self.table_name}.{self.column} of a row outside a session"
            )
        text = self._decrypt(keyring_for(session), ciphertext, _row_id(instance))
        instance.__dict__.setdefault(_CLEAR, {})[self.name] = (ciphertext, text)
        return text

    def __set__(self, instance: object, value: str | None) -> None:
        """Hold ``value`` on the instance until the flush encrypts it (None stores NULL).

        :raises TypeError: the value is neither str nor None.
        :raises ValueError: the text cannot be encoded as UTF-8 (a lone surrogate).
        """
        if value is not None:
            if not isinstance(value, str):
                raise TypeError(f"{self.name} takes str or None, not {type(value).__name__}")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                # from None: the codec's message quotes the offending characters.
                raise ValueError(f"{self.name} is not valid Unicode text") from None
        instance.__dict__.setdefault(_PENDING, {})[self.name] = value
        # The ciphertext column is untouched until the flush, so tell the session the row
        # has changed; otherwise a clean row would never reach before_update.
        flag_dirty(instance)

    def encrypt(self, ring: KeyRing, row: object, value: str, row_id: int | str) -> bytes:
        """Encrypt ``value`` for this field of ``row`` under its scope's current key.

        :raises KeyDestroyed: the row's scope was destroyed.
        """
        cipher = ring.current_cipher(self.scope_of(row))
        return cipher.encrypt(value, table=self.table_name, column=self.column, row_id=row_id)

    def _decrypt(self, ring: KeyRing, ciphertext: bytes, row_id: int | str) -> str:
        subject = f"{self.table_name}.{self.column} row {row_id}"
        try:
            cipher = ring.cipher_for(peek_key_id(ciphertext))
            return cipher.decrypt_text(
                ciphertext, table=self.table_name, column=self.column, row_id=row_id
            )
        except UnsupportedFormat:
            failure = DecryptionFailed(subject, reason="unsupported ciphertext format")
        except UnknownDataKey:
            failure = DecryptionFailed(subject, reason="unknown data key")
        except DecryptionFailed as exc:
            failure = exc
        # Where, never what: no plaintext, ciphertext or key ever reaches the log.
        log.error("encrypted field failed authentication: %s (%s)", subject, failure.reason)
        raise failure


def encrypted_text(name: str, *, scope: Scope) -> EncryptedText:
    """Declare the encrypted text field ``name`` of a model, stored in ``<name>_enc``.

    ``scope`` is the data key scope ("accounts") or a function of the row returning it
    (``lambda note: f"case:{note.case_id}"``), called at flush time.

    :raises ValueError: the name is empty or ends in ``_enc``.
    """
    return EncryptedText(name, scope=scope)


# --------------------------------------------------------------------------- registry

_REGISTRY: list[EncryptedText] = []
_BY_CLASS: dict[type[Any], list[EncryptedText]] = {}


def _register(owner: type[Any], descriptor: EncryptedText) -> None:
    _REGISTRY.append(descriptor)
    if owner not in _BY_CLASS:
        _BY_CLASS[owner] = []
        # propagate: subclasses mapped with inheritance share the parent's fields.
        event.listen(owner, "after_insert", _after_insert, propagate=True)
        event.listen(owner, "before_update", _before_update, propagate=True)
        event.listen(owner, "expire", _after_expire, propagate=True)
    _BY_CLASS[owner].append(descriptor)


def encrypted_fields(metadata: MetaData | None = None) -> tuple[EncryptedText, ...]:
    """Every registered encrypted field whose table is in ``metadata`` (default: case store).

    Only models imported so far are registered; ``btam.models`` imports them all.
    """
    wanted = CaseBase.metadata if metadata is None else metadata
    return tuple(f for f in _REGISTRY if f.table.metadata is wanted)


def _fields_of(cls: type[Any]) -> Iterator[EncryptedText]:
    for klass in cls.__mro__:
        yield from _BY_CLASS.get(klass, ())


def _row_id(instance: object) -> int | str:
    values = inspect(instance).mapper.primary_key_from_instance(instance)
    if len(values) != 1 or values[0] is None:
        raise TypeError("encrypted fields need a row with a single-column primary key")
    row_id: int | str = values[0]
    return row_id


# --------------------------------------------------------------------------- flush events


def _after_insert(_mapper: Mapper[Any], connection: Any, target: object) -> None:
    pending = target.__dict__.get(_PENDING)
    if not pending:
        return
    session = object_session(target)
    row_id = _row_id(target)
    ring: KeyRing | None = None
    by_table: dict[Table, dict[str, bytes]] = {}
    for descriptor in _fields_of(type(target)):
        if descriptor.name not in pending:
            continue
        value = pending.pop(descriptor.name)
        if value is None:
            continue  # the INSERT already wrote NULL
        if ring is None:
            if session is None:
                raise KeyRingUnavailable("an encrypted row is flushed outside a session")
            ring = keyring_for(session)
        ciphertext = descriptor.encrypt(ring, target, value, row_id)
        by_table.setdefault(descriptor.table, {})[descriptor.column] = ciphertext
        set_committed_value(target, descriptor.column, ciphertext)
        target.__dict__.setdefault(_CLEAR, {})[descriptor.name] = (ciphertext, value)
    for table, values in by_table.items():
        primary_key = next(iter(table.primary_key.columns))
        # Same connection, same flush: the row never commits with a NULL in place of a value.
        connection.execute(update(table).where(primary_key == row_id).values(values))
    if not pending:
        del target.__dict__[_PENDING]


def _before_update(_mapper: Mapper[Any], _connection: Any, target: object) -> None:
    pending = target.__dict__.pop(_PENDING, None)
    if not pending:
        return
    session = object_session(target)
    if session is None:
        raise KeyRingUnavailable("an encrypted row is flushed outside a session")
    ring = keyring_for(session)
    row_id = _row_id(target)
    for descriptor in _fields_of(type(target)):
        if descriptor.name not in pending:
            continue
        value = pending[descriptor.name]
        if value is None:
            setattr(target, descriptor.column, None)
            continue
        ciphertext = descriptor.encrypt(ring, target, value, row_id)
        setattr(target, descriptor.column, ciphertext)
        target.__dict__.setdefault(_CLEAR, {})[descriptor.name] = (ciphertext, value)


def _after_expire(target: object, attrs: Any) -> None:
    # Expiry (a rollback, session.expire, refresh) discards unflushed changes; so do we.
    if attrs is None:
        target.__dict__.pop(_PENDING, None)
        target.__dict__.pop(_CLEAR, None)
        return
    for descriptor in _fields_of(type(target)):
        if descriptor.column in attrs:
            for slot in (_PENDING, _CLEAR):
                target.__dict__.get(slot, {}).pop(descriptor.name, None)


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class FieldUsage:
    """How many stored encrypted fields each data key id protects."""

    by_key: Counter[int]
    unreadable: int

    @property
    def total(self) -> int:
        """Every non-NULL encrypted field counted."""
        return sum(self.by_key.values()) + self.unreadable


def _models(metadata: MetaData | None) -> list[tuple[type[Any], list[EncryptedText]]]:
    grouped: dict[type[Any], list[EncryptedText]] = {}
    for descriptor in encrypted_fields(metadata):
        # Registered from __set_name__, so every descriptor here has its owner.
        grouped.setdefault(descriptor.owner or object, []).append(descriptor)
    return list(grouped.items())


def _primary_key(table: Table) -> Column[Any]:
    columns = list(table.primary_key.columns)
    if len(columns) != 1:
        raise TypeError(f"{table.name}: encrypted fields need a single-column primary key")
    return columns[0]


def field_usage(
    sessions: sessionmaker[Session], *, metadata: MetaData | None = None, batch_size: int = 1000
) -> FieldUsage:
    """Count the encrypted fields under each data key by reading ciphertext headers only.

    Nothing is decrypted and no key is needed, so this runs with any key file.
    """
    counts: Counter[int] = Counter()
    unreadable = 0
    for _model, descriptors in _models(metadata):
        table = descriptors[0].table
        primary_key = _primary_key(table)
        columns = [table.c[d.column] for d in descriptors]
        after: Any = None
        while True:
            query = (
                select(primary_key, *columns)
                .where(or_(*(c.is_not(None) for c in columns)))
                .order_by(primary_key)
                .limit(batch_size)
            )
            if after is not None:
                query = query.where(primary_key > after)
            with sessions() as db:
                rows = db.execute(query).all()
            if not rows:
                break
            for row in rows:
                for ciphertext in row[1:]:
                    if ciphertext is None:
                        continue
                    try:
                        counts[peek_key_id(ciphertext)] += 1
                    except UnsupportedFormat:
                        unreadable += 1
            after = rows[-1][0]
    return FieldUsage(by_key=counts, unreadable=unreadable)


# --------------------------------------------------------------------------- re-encryption


@dataclass
class ReencryptResult:
    """What a re-encryption run found and did, over all its passes."""

    scanned: int = 0
    moved: int = 0
    # Lost a compare-and-swap to a concurrent write by the app; the next pass looks again.
    conflicts: int = 0
    destroyed: int = 0
    failed: int = 0
    passes: int = 0
    # Fields seen by the last pass: every encrypted field in the store at that time.
    checked: int = 0
    # True when the last pass found every readable field on its scope's current key.
    complete: bool = False
    in_use: Counter[int] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Change:
    table: Table
    row_id: Any
    column: str
    old: bytes
    new: bytes
    new_key: int


AfterRead = Callable[[str, Sequence[Any]], None]


def reencrypt_fields(
    sessions: sessionmaker[Session],
    *,
    metadata: MetaData | None = None,
    batch_size: int = 200,
    max_passes: int = 5,
    progress: Progress | None = None,
    after_read: AfterRead | None = None,
) -> ReencryptResult:
    """Move every encrypted field to its scope's current data key, in batches, while the app runs.

    Each batch is read and re-encrypted in one short transaction and written in another,
    one compare-and-swap per field (``SET x_enc = :new WHERE id = :id AND x_enc = :old``):
    a value the app wrote meanwhile is never overwritten, and is looked at again in the next
    pass. Passes repeat until one changes nothing (then ``complete`` is True and ``in_use``
    counts every field's key) or ``max_passes`` is reached. Fields already under their
    scope's current key are skipped, so an interrupted run resumes where it stopped.
    ``after_read`` is called between a batch's read and its write (table name, row ids).

    Fields that do not authenticate, or whose key was destroyed, are counted and left as
    they are.

    :raises OperationalError: the case store failed mid-way (committed batches stay done).
    """
    result = ReencryptResult()
    models = _models(metadata)
    while result.passes < max_passes:
        result.passes += 1
        label = "Re-encrypting fields" if result.passes == 1 else f"Checking (pass {result.passes})"
        total = _count_fields(sessions, models)
        done = 0
        scanned_before = result.scanned
        in_use: Counter[int] = Counter()
        moved = conflicts = 0
        for model, descriptors in models:
            table = descriptors[0].table
            primary_key = _primary_key(table)
            key_attribute = getattr(model, inspect(model).get_property_by_column(primary_key).key)
            any_value = or_(*(table.c[d.column].is_not(None) for d in descriptors))
            after: Any = None
            while True:
                query = select(model).where(any_value).order_by(key_attribute).limit(batch_size)
                if after is not None:
                    query = query.where(key_attribute > after)
                with sessions() as db, db.begin():
                    rows = db.execute(query).scalars().all()
                    if not rows:
                        break
                    changes, seen = _plan_batch(keyring_for(db), rows, descriptors, result, in_use)
                    ids = [_row_id(row) for row in rows]
                after = ids[-1]
                if after_read is not None:
                    after_read(table.name, ids)
                if changes:
                    swapped, lost = _write_batch(sessions, changes, in_use)
                    moved += swapped
                    conflicts += lost
                done += seen
                if progress is not None:
                    progress(label, min(done, total), total)
        result.moved += moved
        result.conflicts += conflicts
        result.in_use = in_use
        result.checked = result.scanned - scanned_before
        if moved == 0 and conflicts == 0:
            result.complete = True
            break
    return result


def _count_fields(
    sessions: sessionmaker[Session], models: list[tuple[type[Any], list[EncryptedText]]]
) -> int:
    total = 0
    with sessions() as db:
        for _model, descriptors in models:
            table = descriptors[0].table
            for descriptor in descriptors:
                column = table.c[descriptor.column]
                total += db.execute(
                    select(func.count()).select_from(table).where(column.is_not(None))
                ).scalar_one()
    return total


def _plan_batch(
    ring: KeyRing,
    rows: Sequence[Any],
    descriptors: list[EncryptedText],
    result: ReencryptResult,
    in_use: Counter[int],
) -> tuple[list[_Change], int]:
    changes: list[_Change] = []
    seen = 0
    for row in rows:
        row_id = _row_id(row)
        for descriptor in descriptors:
            ciphertext = getattr(row, descriptor.column)
            if ciphertext is None:
                continue
            seen += 1
            result.scanned += 1
            subject = f"{descriptor.table_name}.{descriptor.column} row {row_id}"
            try:
                key_id = peek_key_id(ciphertext)
            except UnsupportedFormat:
                log.error("cannot re-encrypt %s: unsupported ciphertext format", subject)
                result.failed += 1
                continue
            try:
                current = ring.current_cipher(descriptor.scope_of(row))
                if key_id == current.key_id:
                    in_use[key_id] += 1
                    continue
                new = reencrypt(
                    ciphertext,
                    old=ring.cipher_for(key_id),
                    new=current,
                    table=descriptor.table_name,
                    column=descriptor.column,
                    row_id=row_id,
                )
            except KeyDestroyed:
                result.destroyed += 1
                continue
            except (DecryptionFailed, UnknownDataKey) as exc:
                # Left as it is, and its key kept: an operator may still want to look at it.
                log.error("cannot re-encrypt %s: %s", subject, type(exc).__name__)
                result.failed += 1
                in_use[key_id] += 1
                continue
            changes.append(
                _Change(
                    descriptor.table, row_id, descriptor.column, ciphertext, new, current.key_id
                )
            )
    return changes, seen


def _write_batch(
    sessions: sessionmaker[Session], changes: list[_Change], in_use: Counter[int]
) -> tuple[int, int]:
    swapped = lost = 0
    with sessions() as db, db.begin():
        for change in changes:
            column = change.table.c[change.column]
            primary_key = _primary_key(change.table)
            statement = (
                update(change.table)
                .where(primary_key == change.row_id, column == change.old)
                .values({change.column: change.new})
            )
            if db.connection().execute(statement).rowcount == 1:
                swapped += 1
                in_use[change.new_key] += 1
            else:
                lost += 1
    return swapped, lost
