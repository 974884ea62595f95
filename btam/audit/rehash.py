"""The hashes of stored entries, recomputed as fast as the hash itself allows.

``btam audit verify`` re-hashes every entry of the trail. :func:`canonical_entry` builds a
dict, sorts its keys and renders a datetime for each; here the very same bytes are spelled out
from the row's values in their columns' order, and SQLite's stored time text (the
``YYYY-MM-DD HH:MM:SS.ffffff`` of a valid instant) is reused as it is. A value of any other
type or spelling (a tampered SQLite row can hold anything in any column) takes the path an
ORM read takes: the column's own conversion, then :func:`canonical_entry`. So the bytes hashed
are always exactly those :func:`canonical_entry` gives for what an ORM read would return.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import ColumnElement, String, type_coerce
from sqlalchemy.engine import Dialect

from btam.audit.models import AuditEntry
from btam.audit.writer import ENCODING_VERSION, ENTRY_FIELDS, canonical_entry

__all__ = ["StoredRows"]

# How SQLAlchemy's SQLite dialect stores a DateTime: always with six digits of microseconds.
_SQLITE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")
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


class StoredRows:
    """Read entries as stored and give each one's hash, for one database dialect."""

    def __init__(self, dialect: Dialect) -> None:
        column = AuditEntry.__table__.c.at
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
        self._convert_at: Callable[[Any], Any] = processor or (lambda value: value)

    @staticmethod
    def columns() -> list[ColumnElement[Any]]:
        """What to select: :data:`ENTRY_FIELDS` then ``entry_hash``, ``at`` unconverted."""
        table = AuditEntry.__table__
        return [
            *(
                type_coerce(table.c.at, String()) if name == "at" else table.c[name]
                for name in ENTRY_FIELDS
            ),
            table.c.entry_hash,
        ]

    def digests(self, rows: Sequence[Sequence[Any]]) -> list[str]:
        """Each row's entry hash, as :func:`compute_entry_hash` gives it after an ORM read.

        :raises ValueError: when a stored time cannot be read (as an ORM read would).
        :raises TypeError: when a value cannot be encoded (as :func:`canonical_entry`).
        """
        sha256 = hashlib.sha256
        text = encode_basestring_ascii
        stored_time = _SQLITE_TIME.fullmatch
        from_text = datetime.fromisoformat
        out: list[str] = []
        append = out.append
        for row in rows:
            (
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
            ) = row
            try:
                if at.__class__ is str and stored_time(at) is not None:
                    from_text(at)  # a valid instant, or the slow path raises what a read would
                    when = f"{at[:10]}T{at[11:]}Z"
                else:
                    raise _Unusual
                if not (
                    seq.__class__ is int
                    and (actor_id is None or actor_id.__class__ is int)
                    and (case_id is None or case_id.__class__ is int)
                    and (school_id is None or school_id.__class__ is int)
                ):
                    raise _Unusual
                # encode_basestring_ascii is the JSON encoder's own escaping with ensure_ascii;
                # it refuses anything but str (TypeError), which sends the row the slow way.
                blob = (
                    f'{{"action":{text(action)},'
                    f'"actor_id":{"null" if actor_id is None else actor_id},'
                    f'"actor_role":{text(actor_role)},"at":"{when}",'
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
            except (_Unusual, TypeError, ValueError):
                blob = self._slow(row)
            append(sha256(blob).hexdigest())
        return out

    def _slow(self, row: Sequence[Any]) -> bytes:
        entry = dict(zip(ENTRY_FIELDS, row, strict=False))
        entry["at"] = self._convert_at(row[_AT])
        return canonical_entry(entry)


class _Unusual(Exception):
    """A value of a type or spelling the fast encoding does not take."""
