"""The hashes of stored entries, recomputed as fast as the hash itself allows.

``btam audit verify`` re-hashes every entry of the trail. :func:`canonical_entry` builds a
dict, sorts its keys and renders a datetime for each; here the very same bytes are spelled out
from the row's values in their columns' order, and the stored time text (SQLite's
``YYYY-MM-DD HH:MM:SS.ffffff`` of a valid instant, which PostgreSQL is asked to spell the
same way) is reused as it is. A value of any other type or spelling (a tampered SQLite row can
hold anything in any column) takes the path an ORM read takes: the column's own conversion,
then :func:`canonical_entry`. So the bytes hashed are always exactly those
:func:`canonical_entry` gives for what an ORM read would return.

A batch is first spelled in one pass that assumes every row is ordinary (times checked for
the whole batch at once); a batch with any other row is spelled row by row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import Any, cast

from sqlalchemy import ColumnElement, String, bindparam, func, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker

from btam.audit.models import AuditEntry
from btam.audit.writer import ENCODING_VERSION, ENTRY_FIELDS, AuditUnavailable, canonical_entry

__all__ = ["StoredBatches", "StoredRows"]

# How SQLAlchemy's SQLite dialect stores a DateTime: always with six digits of microseconds.
_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}"
_TIME_CHARS = 26
_SQLITE_TIME = re.compile(_TIME)
# A batch's times joined by newlines (no time holds one, as the length check makes sure).
_SQLITE_TIMES = re.compile(rf"{_TIME}(?:\n{_TIME})*")
# PostgreSQL's to_char spelling of the same text, in UTC.
_POSTGRES_TIME_FORMAT = "YYYY-MM-DD HH24:MI:SS.US"
_AT = ENTRY_FIELDS.index("at")
# The fast spelling below writes the keys in this order; canonical_entry sorts them.
_SORTED_KEYS = (
    "action",
    "actor_id",
    "actor_role",
    "at",
    "case_id",
    "client_address",
    "object_id",
    "object_type",
    "outcome",
    "prev_hash",
    "purpose",
    "request_id",
    "school_id",
    "seq",
    "v",
)
if tuple(sorted((*ENTRY_FIELDS, "v"))) != _SORTED_KEYS or ENCODING_VERSION != 1:
    raise RuntimeError("the canonical encoding changed: update btam.audit.rehash with it")
# What the slow path raises for a value no entry can hold (bytes, NaN, a time out of range).
_UNREADABLE = (TypeError, ValueError, OverflowError, AttributeError)


class StoredRows:
    """Read entries as stored and give each one's hash, for one database dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect.name
        column = AuditEntry.__table__.c.at
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
        self._convert_at: Callable[[Any], Any] = processor or (lambda value: value)

    def columns(self) -> list[ColumnElement[Any]]:
        """What to select: :data:`ENTRY_FIELDS` then ``entry_hash``, ``at`` as stored text.

        SQLite keeps ``at`` as text already; PostgreSQL is asked for the same spelling in
        UTC, so both take the fast path without a datetime per row.
        """
        table = AuditEntry.__table__
        at: ColumnElement[Any]
        if self._dialect == "postgresql":
            at = func.to_char(func.timezone("UTC", table.c.at), _POSTGRES_TIME_FORMAT)
        else:
            at = type_coerce(table.c.at, String())
        return [
            *(at if name == "at" else table.c[name] for name in ENTRY_FIELDS),
            table.c.entry_hash,
        ]

    def digests(self, rows: Sequence[Sequence[Any]]) -> list[str]:
        """Each row's entry hash, as :func:`compute_entry_hash` gives it after an ORM read.

        :raises ValueError: when a stored time cannot be read (as an ORM read would).
        :raises TypeError: when a value cannot be encoded (as :func:`canonical_entry`).
        """
        batch = _ordinary(rows)
        if batch is not None:
            return batch
        return [self._one(row) for row in rows]

    def readable_digests(self, rows: Sequence[Sequence[Any]]) -> list[str | None]:
        """Each row's entry hash as :meth:`digests` gives it, None for a row it cannot hash.

        A row holding a value no entry can hold (a blob, a time that is no instant) is no
        entry the writer wrote: verify reports it as altered instead of stopping.
        """
        batch = _ordinary(rows)
        if batch is not None:
            return cast(list[str | None], batch)
        out: list[str | None] = []
        for row in rows:
            try:
                out.append(self._one(row))
            except _UNREADABLE:
                out.append(None)
        return out

    def _one(self, row: Sequence[Any]) -> str:
        ordinary = _ordinary((row,))
        if ordinary is not None:
            return ordinary[0]
        return hashlib.sha256(self._slow(row)).hexdigest()

    def _slow(self, row: Sequence[Any]) -> bytes:
        entry = dict(zip(ENTRY_FIELDS, row, strict=False))
        entry["at"] = self._time(row[_AT])
        return canonical_entry(entry)

    def _time(self, at: Any) -> Any:
        if at.__class__ is str and _SQLITE_TIME.fullmatch(at) is not None:
            return datetime.fromisoformat(at).replace(tzinfo=UTC)
        if self._dialect == "postgresql" and isinstance(at, str):
            # to_char spells every instant an entry can hold as above (a year beyond 9999
            # takes five digits): nothing else is one.
            raise ValueError("not the time of an entry")
        return self._convert_at(at)


class StoredBatches:
    """The stored entries up to ``upto``, a batch at a time in seq order, as StoredRows reads them.

    Read with the driver's own cursor: the rows come as the driver's tuples, without a
    SQLAlchemy row object or result processing per row. Each batch is its own short read
    transaction; on SQLite a deferred one, so reading never holds the write lock the writer
    takes for appends.
    """

    def __init__(self, sessions: sessionmaker[Session], batch_size: int, upto: int) -> None:
        self._sessions = sessions
        self._batch_size = batch_size
        self._upto = upto
        self._query: tuple[str, Callable[[int], Any], StoredRows] | None = None

    def after(self, last_seq: int) -> tuple[list[Sequence[Any]], StoredRows]:
        """The next batch of entries after ``last_seq``, and how to hash them.

        :raises AuditUnavailable: when the store cannot be read.
        """
        with self._sessions() as session:
            connection = session.connection(execution_options={"btam_begin": "DEFERRED"})
            if self._query is None:
                self._query = self._compile(connection.dialect)
            sql, parameters, stored = self._query
            cursor = connection.connection.cursor()
            try:
                cursor.execute(sql, parameters(last_seq))
                return list(cursor.fetchall()), stored
            except connection.dialect.loaded_dbapi.Error:
                raise AuditUnavailable("the audit store cannot be read") from None
            finally:
                cursor.close()

    def _compile(self, dialect: Dialect) -> tuple[str, Callable[[int], Any], StoredRows]:
        stored = StoredRows(dialect)
        compiled = (
            select(*stored.columns())
            .where(AuditEntry.seq > bindparam("after"), AuditEntry.seq <= bindparam("upto"))
            .order_by(AuditEntry.seq)
            .limit(bindparam("size"))
            .compile(dialect=dialect)
        )
        fixed = {"upto": self._upto, "size": self._batch_size}
        order = compiled.positiontup if dialect.positional else None

        def parameters(last_seq: int) -> Any:
            values = compiled.construct_params({**fixed, "after": last_seq})
            return values if order is None else tuple(values[name] for name in order)

        return compiled.string, parameters, stored


def _ordinary(rows: Sequence[Sequence[Any]]) -> list[str] | None:
    """Every row's hash when every row is ordinary, in one pass; None when one is not.

    Ordinary: the time is stored text of a valid instant, the integers are ints and every
    other value is text or (where allowed) None. Text is escaped as the JSON encoder does.
    """
    if not rows:
        return []
    times = [row[_AT] for row in rows]
    try:
        joined = "\n".join(times)
    except TypeError:
        return None
    if len(joined) != len(times) * (_TIME_CHARS + 1) - 1 or _SQLITE_TIMES.fullmatch(joined) is None:
        return None
    try:
        # A valid instant each (the same check an ORM read makes); the spelling is then the
        # canonical one but for the "T" and the "Z".
        for _instant in map(datetime.fromisoformat, times):
            pass
    except ValueError:
        return None
    sha256 = hashlib.sha256
    text = encode_basestring_ascii
    try:
        # encode_basestring_ascii is the JSON encoder's own escaping with ensure_ascii; it
        # refuses anything but str (TypeError). The condition drops a row whose integers are
        # not ints (a bool, a float, text), which the length check then sees.
        digests = [
            sha256(
                (
                    f'{{"action":{text(action)},'
                    f'"actor_id":{"null" if actor_id is None else actor_id},'
                    f'"actor_role":{text(actor_role)},"at":"{at[:10]}T{at[11:]}Z",'
                    f'"case_id":{"null" if case_id is None else case_id},'
                    f'"client_address":{"null" if client_address is None else text(client_address)}'
                    ","
                    f'"object_id":{"null" if object_id is None else text(object_id)},'
                    f'"object_type":{"null" if object_type is None else text(object_type)},'
                    f'"outcome":{text(outcome)},"prev_hash":{text(prev_hash)},'
                    f'"purpose":{"null" if purpose is None else text(purpose)},'
                    f'"request_id":{"null" if request_id is None else text(request_id)},'
                    f'"school_id":{"null" if school_id is None else school_id},'
                    f'"seq":{seq},"v":1}}'
                ).encode("ascii")
            ).hexdigest()
            for (
                seq,
                at,
                actor_id,
                actor_role,
                action,
                outcome,
                object_type,
                object_id,
                case_id,
                school_id,
                purpose,
                request_id,
                client_address,
                prev_hash,
                _entry_hash,
            ) in rows
            if seq.__class__ is int
            and (actor_id is None or actor_id.__class__ is int)
            and (case_id is None or case_id.__class__ is int)
            and (school_id is None or school_id.__class__ is int)
        ]
    except TypeError:
        return None
    return digests if len(digests) == len(rows) else None
