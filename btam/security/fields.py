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
plaintext on the instance as long as the ciphertext it came from is unchanged. The key named
in the ciphertext must belong to the row's scope as the scope function computes it now: a
value moved to a row of another case or person is refused even where its bytes would
authenticate (the associated data binds table, column and row id, not the scope). A row whose
scope column changes must therefore have its values read first and assigned again, so that
the flush re-encrypts them under the new scope. A ciphertext that does not authenticate, or
names a key of another scope, raises :class:`~btam.security.crypto.DecryptionFailed`, logged
with its table, column and row only; a destroyed key raises
:class:`~btam.security.keys.KeyDestroyed`.

Every encrypted field is registered, so that ``btam keys status`` can count what each key
protects and ``btam keys rotate --reencrypt`` can move every field to new keys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, Self, overload

from sqlalchemy import (
    LargeBinary,
    MetaData,
    Table,
    event,
    inspect,
    update,
)
from sqlalchemy.orm import Mapper, mapped_column, object_session
from sqlalchemy.orm.attributes import flag_dirty, set_committed_value

from btam.db import CaseBase
from btam.security.crypto import (
    DecryptionFailed,
    UnsupportedFormat,
    peek_key_id,
)
from btam.security.keys import (
    KeyOutOfScope,
    KeyRing,
    KeyRingUnavailable,
    UnknownDataKey,
    keyring_for,
)

__all__ = [
    "EncryptedText",
    "encrypted_fields",
    "encrypted_text",
    "preload_keys",
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

    @property
    def fixed_scope(self) -> str | None:
        """The scope of this field in every row, or None when it depends on the row."""
        return self._scope if isinstance(self._scope, str) else None

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type[Any]) -> str | None: ...

    def __get__(self, instance: object | None, owner: type[Any]) -> Self | str | None:
        """The plaintext: assigned and not yet flushed, or decrypted from ``<name>_enc``.

        :raises DecryptionFailed: the ciphertext does not authenticate for this row and
            column (moved, tampered, or under an unknown key), or names a key of another
            scope than the row's; logged without content.
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
        text = self._decrypt(
            keyring_for(session), ciphertext, row_id_of(instance), scope=self.scope_of(instance)
        )
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

    def _decrypt(self, ring: KeyRing, ciphertext: bytes, row_id: int | str, *, scope: str) -> str:
        subject = f"{self.table_name}.{self.column} row {row_id}"
        try:
            cipher = ring.cipher_for(peek_key_id(ciphertext), scope=scope)
            return cipher.decrypt_text(
                ciphertext, table=self.table_name, column=self.column, row_id=row_id
            )
        except UnsupportedFormat:
            failure = DecryptionFailed(subject, reason="unsupported ciphertext format")
        except UnknownDataKey:
            failure = DecryptionFailed(subject, reason="unknown data key")
        except KeyOutOfScope:
            failure = DecryptionFailed(subject, reason="a data key of another scope")
        except DecryptionFailed as exc:
            failure = exc
        # Where, never what: no plaintext, ciphertext or key ever reaches the log.
        log.error("encrypted field failed authentication: %s (%s)", subject, failure.reason)
        raise failure


def preload_keys(rows: Sequence[object], *fields: EncryptedText) -> None:
    """Unwrap in one query the data keys that ``fields`` of ``rows`` are encrypted under.

    Reading those fields afterwards decrypts without a query per row: for lists of rows of
    many scopes (people found by a blind index, each under its own key). Rows outside a
    session, values not yet flushed and ciphertexts that name no key are skipped; reading
    them later fails or succeeds exactly as it would have.
    """
    if not rows:
        return
    session = object_session(rows[0])
    if session is None:
        return
    wanted: dict[int, str] = {}
    for row in rows:
        for descriptor in fields:
            ciphertext = row.__dict__.get(descriptor.column)
            if ciphertext is None:
                continue
            try:
                key_id = peek_key_id(ciphertext)
            except UnsupportedFormat:
                continue
            wanted.setdefault(key_id, descriptor.scope_of(row))
    if wanted:
        keyring_for(session).load(wanted)


def encrypted_text(name: str, *, scope: Scope) -> EncryptedText:
    """Declare the encrypted text field ``name`` of a model, stored in ``<name>_enc``.

    ``scope`` is the data key scope ("accounts") or a function of the row returning it
    (``lambda note: f"case:{note.case_id}"``), called at flush time.

    :raises ValueError: the name is empty or ends in ``_enc``.
    """
    return EncryptedText(name, scope=scope)


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


def row_id_of(instance: object) -> int | str:
    values = inspect(instance).mapper.primary_key_from_instance(instance)
    if len(values) != 1 or values[0] is None:
        raise TypeError("encrypted fields need a row with a single-column primary key")
    row_id: int | str = values[0]
    return row_id


def _after_insert(_mapper: Mapper[Any], connection: Any, target: object) -> None:
    pending = target.__dict__.get(_PENDING)
    if not pending:
        return
    session = object_session(target)
    row_id = row_id_of(target)
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
    row_id = row_id_of(target)
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


def _after_expire(target: object | None, attrs: Any) -> None:
    # Expiry (a rollback, session.expire, refresh) discards unflushed changes; so do we. A
    # rollback also expires the states of rows already garbage-collected: nothing to discard.
    if target is None:
        return
    if attrs is None:
        target.__dict__.pop(_PENDING, None)
        target.__dict__.pop(_CLEAR, None)
        return
    for descriptor in _fields_of(type(target)):
        if descriptor.column in attrs:
            for slot in (_PENDING, _CLEAR):
                target.__dict__.get(slot, {}).pop(descriptor.name, None)


AfterRead = Callable[[str, Sequence[Any]], None]
