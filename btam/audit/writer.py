"""The only way into the audit store: append entries to the hash chain and seal it with checkpoints.

Each entry's hash is SHA-256 over :func:`canonical_entry` (the entry's fields and the previous
entry's hash), so editing, removing, inserting or reordering an entry breaks the chain at that
point. Every ``checkpoint_every`` entries, and on demand, the head ``(seq, entry_hash)`` is
signed with Ed25519 (see :mod:`btam.audit.signing`), stored, and appended to a witness file
outside the database: a database administrator can recompute hashes, but cannot sign, and
cannot reach the witness.

Appends are serialised across processes and hosts by the database itself (SQLite's
``BEGIN IMMEDIATE`` from ``make_engine(url, immediate=True)``; PostgreSQL's transaction-scoped
advisory lock), because nothing in this application may assume a single process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext, InvalidAuditEntry
from btam.audit.events import AuditEvent
from btam.audit.models import (
    OBJECT_ID_MAX,
    OBJECT_TYPE_MAX,
    PURPOSE_MAX,
    AuditCheckpoint,
    AuditEntry,
)
from btam.audit.signing import SignedCheckpoint, format_timestamp, load_signing_key

if TYPE_CHECKING:
    from btam.db import Stores
    from btam.settings import Settings

__all__ = [
    "ENTRY_FIELDS",
    "GENESIS_HASH",
    "AuditUnavailable",
    "AuditWriter",
    "InvalidAuditEntry",
    "canonical_entry",
    "compute_entry_hash",
    "take_append_lock",
    "writer_from_settings",
]

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
ENCODING_VERSION = 1
# The hashed fields, in the order of the table; the encoding sorts them anyway.
ENTRY_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_role",
    "action",
    "outcome",
    "object_type",
    "object_id",
    "case_id",
    "school_id",
    "purpose",
    "request_id",
    "client_address",
    "prev_hash",
)
# Built once: json.dumps would build an identical encoder for every entry verify re-hashes.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)
# One fixed key for pg_advisory_xact_lock: the ASCII bytes of "btamaudt". Any other advisory
# lock user in the audit database must not pick it.
APPEND_LOCK_KEY = 0x6274616D61756474

# Object types name a kind of record ("case", "user"); object ids are ids or case numbers.
# The narrow alphabets are a second guard, after code review, against a name or a narrative
# being passed where an id belongs.
_OBJECT_TYPE = re.compile(rf"[a-z][a-z0-9_]{{0,{OBJECT_TYPE_MAX - 1}}}")
_OBJECT_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{OBJECT_ID_MAX}}}")


class AuditUnavailable(Exception):
    """The audit store cannot take (or give back) entries right now; the action must be refused.

    The message never carries the entry or the database's error text; the cause is logged.
    """


def canonical_entry(entry: Mapping[Any, Any]) -> bytes:
    """The exact bytes an entry's hash covers.

    JSON with sorted keys, no whitespace and ASCII escapes, over :data:`ENTRY_FIELDS` plus
    ``"v": 1``; ``at`` is rendered as ISO 8601 UTC with microseconds and ``Z``. Integers stay
    integers and absent values are ``null``, so the same entry always gives the same bytes on
    SQLite and PostgreSQL, in any Python version.

    :raises KeyError: when a field is missing.
    :raises ValueError: when ``at`` is a naive datetime.
    """
    record: dict[str, Any] = {name: entry[name] for name in ENTRY_FIELDS}
    record["at"] = format_timestamp(record["at"])
    record["v"] = ENCODING_VERSION
    return _ENCODER.encode(record).encode("ascii")


def compute_entry_hash(entry: Mapping[Any, Any]) -> str:
    """Lowercase hex SHA-256 of :func:`canonical_entry`.

    :raises KeyError: when a field is missing.
    :raises ValueError: when ``at`` is a naive datetime.
    """
    return hashlib.sha256(canonical_entry(entry)).hexdigest()


def take_append_lock(session: Session) -> None:
    """Make the session's transaction the only one appending to the chain until it ends.

    Call it first in the transaction. On SQLite the engine's ``BEGIN IMMEDIATE`` already
    holds the write lock; on PostgreSQL a transaction-scoped advisory lock does, and is
    released by COMMIT or ROLLBACK, so a crashed worker can never leave it held.

    :raises sqlalchemy.exc.SQLAlchemyError: when the database refuses.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Under REPEATABLE READ or SERIALIZABLE (a DBA's default_transaction_isolation) the
        # snapshot would be taken before the lock is granted, and the head read after it
        # could be stale; READ COMMITTED reads each statement's data after the lock.
        session.execute(text("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"))
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})


def _optional_id(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidAuditEntry(f"{name} must be a positive integer")
    return value


def _validated(
    ctx: AuditContext,
    *,
    action: AuditAction | str,
    outcome: Outcome | str,
    object_type: str | None,
    object_id: str | int | None,
    case_id: int | None,
    school_id: int | None,
    purpose: str | None,
) -> dict[str, Any]:
    if not isinstance(ctx, AuditContext):
        raise InvalidAuditEntry("ctx must be an AuditContext")
    try:
        action_value = AuditAction(action).value
    except ValueError:
        raise InvalidAuditEntry("action is not in the audit vocabulary") from None
    try:
        outcome_value = Outcome(outcome).value
    except ValueError:
        raise InvalidAuditEntry("outcome is not allowed, denied or error") from None
    if object_type is not None and not (
        isinstance(object_type, str) and _OBJECT_TYPE.fullmatch(object_type)
    ):
        raise InvalidAuditEntry(
            f"object_type must be a lowercase kind of record of at most {OBJECT_TYPE_MAX} chars"
        )
    if isinstance(object_id, int) and not isinstance(object_id, bool):
        object_id = str(object_id)
    if object_id is not None and not (
        isinstance(object_id, str) and _OBJECT_ID.fullmatch(object_id)
    ):
        raise InvalidAuditEntry(f"object_id must be an id of at most {OBJECT_ID_MAX} chars")
    if purpose is not None and not (
        isinstance(purpose, str)
        and 0 < len(purpose) <= PURPOSE_MAX
        # No line breaks or control characters: one short line an auditor can read.
        and purpose.isprintable()
    ):
        raise InvalidAuditEntry(f"purpose must be one printable line of at most {PURPOSE_MAX}")
    return {
        "actor_id": ctx.actor_id,
        "actor_role": ctx.actor_role,
        "action": action_value,
        "outcome": outcome_value,
        "object_type": object_type,
        "object_id": object_id,
        "case_id": _optional_id("case_id", case_id),
        "school_id": _optional_id("school_id", school_id),
        "purpose": purpose,
        "request_id": ctx.request_id,
        "client_address": ctx.client_address,
    }


def _describe(exc: BaseException) -> str:
    # The driver's first line says what went wrong ("unable to open database file",
    # "connection refused"); SQLAlchemy's own text would add the statement and its parameters.
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(cause, OSError) and cause.strerror:
        return f"{type(cause).__name__}: {cause.strerror}"
    first_line = (str(cause).strip().splitlines() or [""])[0][:200]
    return f"{type(cause).__name__}: {first_line}"


class AuditWriter:
    """Appends entries to the audit chain, each in its own short transaction.

    ``sessions`` must come from an engine made with ``make_engine(url, immediate=True)`` on
    SQLite (as ``open_stores`` does), or concurrent appends fail instead of waiting.
    ``checkpoint_every`` 0 turns automatic checkpoints off. ``witness`` None keeps no witness
    file (tests and benchmarks only: production settings always name one).

    :raises ValueError: for a negative ``checkpoint_every``.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        signing_key: Ed25519PrivateKey,
        checkpoint_every: int,
        witness: Path | None,
    ) -> None:
        if checkpoint_every < 0:
            raise ValueError("checkpoint_every must not be negative")
        self._sessions = sessions
        self._signing_key = signing_key
        self._checkpoint_every = checkpoint_every
        self._witness = witness

    @property
    def witness(self) -> Path | None:
        """The witness file every checkpoint is appended to, if any."""
        return self._witness

    def append(
        self,
        ctx: AuditContext,
        *,
        action: AuditAction,
        outcome: Outcome,
        object_type: str | None = None,
        object_id: str | int | None = None,
        case_id: int | None = None,
        school_id: int | None = None,
        purpose: str | None = None,
    ) -> int:
        """Record one event and commit it before returning its sequence number.

        :raises InvalidAuditEntry: when a value is unknown, too long or not an id (nothing is
            written).
        :raises AuditUnavailable: when the audit store (or the witness file, at a checkpoint)
            cannot take the entry; nothing is recorded and the caller must refuse the action.
        """
        event = AuditEvent(
            action,
            outcome=outcome,
            object_type=object_type,
            object_id=object_id,
            case_id=case_id,
            school_id=school_id,
            purpose=purpose,
        )
        return self.append_all(ctx, [event])[0]

    def append_all(self, ctx: AuditContext, events: Sequence[AuditEvent]) -> list[int]:
        """Record ``events`` in order, in one transaction (all or none); return their seqs.

        :raises InvalidAuditEntry: when a value is unknown, too long or not an id (nothing is
            written).
        :raises AuditUnavailable: when the audit store (or the witness file, at a checkpoint)
            cannot take the entries; nothing is recorded and the caller must refuse the action.
        """
        rows = [
            _validated(
                AuditContext.anonymous(ctx.request_id) if e.anonymous else ctx,
                action=e.action,
                outcome=e.outcome,
                object_type=e.object_type,
                object_id=e.object_id,
                case_id=e.case_id,
                school_id=e.school_id,
                purpose=e.purpose,
            )
            for e in events
        ]
        if not rows:
            return []
        seqs: list[int] = []
        try:
            with self._sessions() as session, session.begin():
                take_append_lock(session)
                for fields in rows:
                    seq, entry_hash = self._insert_entry(session, fields)
                    seqs.append(seq)
                    if self._checkpoint_every and seq % self._checkpoint_every == 0:
                        self._seal(session, seq, entry_hash)
        except (SQLAlchemyError, OSError) as exc:
            log.error("audit store refused an append (%s)", _describe(exc))
            raise AuditUnavailable("the audit store cannot record this action") from None
        return seqs

    def checkpoint(self, ctx: AuditContext | None = None) -> SignedCheckpoint | None:
        """Sign the head of the chain now, store the checkpoint and append it to the witness.

        With ``ctx``, first records ``audit:checkpoint:signed`` by that actor and seals the
        chain including it, in the same transaction. Without it, seals the current head, or
        returns the existing checkpoint when the head is already sealed, or None when the
        trail is empty.

        :raises AuditUnavailable: when the store or the witness file cannot take it.
        """
        fields = None
        if ctx is not None:
            fields = _validated(
                ctx,
                action=AuditAction.AUDIT_CHECKPOINT_SIGNED,
                outcome=Outcome.ALLOWED,
                object_type=None,
                object_id=None,
                case_id=None,
                school_id=None,
                purpose=None,
            )
        try:
            with self._sessions() as session, session.begin():
                take_append_lock(session)
                if fields is not None:
                    seq, entry_hash = self._insert_entry(session, fields)
                else:
                    head = session.execute(
                        select(AuditEntry.seq, AuditEntry.entry_hash)
                        .order_by(AuditEntry.seq.desc())
                        .limit(1)
                    ).first()
                    if head is None:
                        return None
                    seq, entry_hash = head.seq, head.entry_hash
                return self._seal(session, seq, entry_hash)
        except (SQLAlchemyError, OSError) as exc:
            log.error("audit store refused a checkpoint (%s)", _describe(exc))
            raise AuditUnavailable("the audit store cannot sign a checkpoint") from None

    def _insert_entry(self, session: Session, fields: dict[str, Any]) -> tuple[int, str]:
        # Read under the append lock, so no other writer can take the same seq or prev_hash.
        head = session.execute(
            select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
        seq, prev_hash = (head.seq + 1, head.entry_hash) if head else (1, GENESIS_HASH)
        entry = {**fields, "seq": seq, "at": datetime.now(UTC), "prev_hash": prev_hash}
        entry["entry_hash"] = compute_entry_hash(entry)
        session.execute(insert(AuditEntry), [entry])
        return seq, entry["entry_hash"]

    def _seal(self, session: Session, seq: int, entry_hash: str) -> SignedCheckpoint:
        last = session.execute(
            select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
        ).scalar_one_or_none()
        if last is not None and last.seq == seq:
            return last.signed()
        checkpoint = SignedCheckpoint.sign(
            self._signing_key,
            id=last.id + 1 if last is not None else 1,
            seq=seq,
            entry_hash=entry_hash,
            signed_at=datetime.now(UTC),
        )
        session.execute(
            insert(AuditCheckpoint),
            [
                {
                    "id": checkpoint.id,
                    "seq": checkpoint.seq,
                    "entry_hash": checkpoint.entry_hash,
                    "signed_at": checkpoint.signed_at,
                    "key_id": checkpoint.key_id,
                    "signature": checkpoint.signature,
                }
            ],
        )
        # Written while the append lock is held, so witness lines are in checkpoint order
        # across processes, and before COMMIT, so a checkpoint never exists in the database
        # without its witness line. If COMMIT then fails, the witness keeps a line the
        # database lacks and `verify` reports it: a false alarm is the safe failure here.
        if self._witness is not None:
            _append_witness_line(self._witness, checkpoint.witness_line())
        return checkpoint


def _append_witness_line(path: Path, line: str) -> None:
    data = line.encode("ascii")
    created = not path.exists()
    # O_APPEND: each write lands at the current end even if another host shares the file.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        # A new file's directory entry is only durable once the directory is synced too.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def writer_from_settings(settings: Settings, stores: Stores) -> AuditWriter:
    """Build the process's audit writer from the settings and the opened audit store.

    :raises SigningKeyError: when the audit signing key cannot be loaded.
    """
    return AuditWriter(
        stores.audit_sessions,
        signing_key=load_signing_key(settings.audit_signing_key_file),
        checkpoint_every=settings.audit_checkpoint_every,
        witness=settings.audit_witness,
    )
