"""The only way into the audit store: append entries to the hash chain and seal it with checkpoints.

Each entry's hash is SHA-256 over :func:`canonical_entry` (the entry's fields and the previous
entry's hash), so editing, removing, inserting or reordering an entry breaks the chain at that
point. Every transaction appends the head it commits (``seq``, ``entry_hash``) to a witness
file outside the database before it commits, so the witness learns every committed head; and
every ``checkpoint_every`` entries or ``checkpoint_minutes`` minutes, and on demand, the head is
also signed with Ed25519 (see :mod:`btam.audit.signing` for both line formats) and stored. A
database administrator can recompute hashes, but cannot sign, and cannot reach the witness.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import ColumnElement, Table, insert, select, text
from sqlalchemy import exists as sql_exists
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext, InvalidAuditEntry
from btam.audit.events import AuditEvent, NotAppliedReason
from btam.audit.models import (
    OBJECT_ID_MAX,
    OBJECT_TYPE_MAX,
    PURPOSE_MAX,
    AuditCheckpoint,
    AuditEntry,
)
from btam.audit.signing import (
    SignedCheckpoint,
    SigningKeyError,
    SigningKeyFile,
    WitnessHead,
    format_timestamp,
)

if TYPE_CHECKING:
    from btam.db import Stores
    from btam.settings import Settings

__all__ = [
    "ENTRY_FIELDS",
    "GENESIS_HASH",
    "AuditEvent",
    "AuditUnavailable",
    "AuditWriter",
    "InvalidAuditEntry",
    "canonical_entry",
    "compute_entry_hash",
    "take_append_lock",
    "writer_for",
    "writer_from_settings",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

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


def _validated(ctx: AuditContext, event: AuditEvent) -> dict[str, Any]:
    if not isinstance(ctx, AuditContext):
        raise InvalidAuditEntry("ctx must be an AuditContext")
    if not isinstance(event, AuditEvent):
        raise InvalidAuditEntry("event must be an AuditEvent")
    if event.anonymous:
        # A tip, or a reporter who asked not to be known: no actor, no address, whoever acts.
        ctx = AuditContext.anonymous(ctx.request_id)
    object_type, object_id, purpose = event.object_type, event.object_id, event.purpose
    try:
        action_value = AuditAction(event.action).value
    except ValueError:
        raise InvalidAuditEntry("action is not in the audit vocabulary") from None
    try:
        outcome_value = Outcome(event.outcome).value
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
        "case_id": _optional_id("case_id", event.case_id),
        "school_id": _optional_id("school_id", event.school_id),
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


def utcnow() -> datetime:
    """The current time in UTC, aware."""
    return datetime.now(UTC)


class AuditWriter:
    """Appends entries to the audit chain, each unit of work in its own short transaction.

    ``sessions`` must come from an engine made with ``make_engine(url, immediate=True)`` on
    SQLite (as ``open_stores`` does), or concurrent appends fail instead of waiting.
    A checkpoint is signed when ``checkpoint_every`` entries have arrived since the last one,
    or when an entry arrives ``checkpoint_minutes`` or more after the last one was signed (or
    when there is none yet); 0 turns either bound off. ``witness`` None keeps no witness
    file (tests and benchmarks only: production settings always name one). ``clock`` gives
    the entries' time and decides when a checkpoint is due (tests pass their own).

    :raises ValueError: for a negative ``checkpoint_every`` or ``checkpoint_minutes``.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        signing_key: Ed25519PrivateKey | SigningKeyFile,
        checkpoint_every: int,
        witness: Path | None,
        checkpoint_minutes: int = 0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if checkpoint_every < 0 or checkpoint_minutes < 0:
            raise ValueError("checkpoint_every and checkpoint_minutes must not be negative")
        self._sessions = sessions
        self._signing_key = signing_key
        self._checkpoint_every = checkpoint_every
        self._checkpoint_age = timedelta(minutes=checkpoint_minutes)
        self._witness = witness
        self._clock = clock

    @property
    def witness(self) -> Path | None:
        """The witness file every committed head and checkpoint is appended to, if any."""
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
        :raises AuditUnavailable: when the audit store (or the witness file) cannot take the
            entry; nothing is recorded and the caller must refuse the action.
        """
        event = AuditEvent(
            action=action,
            outcome=outcome,
            object_type=object_type,
            object_id=object_id,
            case_id=case_id,
            school_id=school_id,
            purpose=purpose,
        )
        return self.append_all(ctx, [event])[0]

    def append_all(self, ctx: AuditContext, events: Sequence[AuditEvent]) -> list[int]:
        """Record the events of one unit of work in one transaction (all or none), in order.

        Returns their sequence numbers; an empty ``events`` records nothing.

        :raises InvalidAuditEntry: when any value is unknown, too long or not an id (nothing
            is written).
        :raises AuditUnavailable: when the audit store (or the witness file) cannot take the
            entries; none is recorded and the caller must refuse the action.
        """
        rows = [_validated(ctx, event) for event in events]
        if not rows:
            return []
        return self._run("an append", lambda session, out: self._append(session, rows, out))

    def append_history(
        self, records: Sequence[tuple[AuditContext, AuditEvent, datetime]]
    ) -> list[int]:
        """Record past events of many requests, each at its own time, in one transaction.

        For loading a generated district (benchmarks, demos at scale): the entries are
        validated, hashed and chained exactly as :meth:`append_all` does, each keeps the time
        it is given, and the chain is sealed with a signed checkpoint every
        ``checkpoint_every`` entries and at the end, each after its witness head line, so the
        trail verifies as one written request by request. Returns the seqs in order.

        :raises InvalidAuditEntry: when any value is unknown, too long or not an id (nothing
            is written).
        :raises AuditUnavailable: when the audit store (or the witness file) cannot take the
            entries; none is recorded.
        """
        rows = [(_validated(ctx, event), at) for ctx, event, at in records]
        if not rows:
            return []
        if any(at.tzinfo is None for _fields, at in rows):
            raise InvalidAuditEntry("history entries need aware UTC times")
        chunk = self._checkpoint_every or len(rows)

        def body(session: Session, out: _Written) -> list[int]:
            seq, prev_hash = _head(session) or (0, GENESIS_HASH)
            before = prev_hash
            seqs: list[int] = []
            lines: list[str] = []
            for start in range(0, len(rows), chunk):
                entries = []
                for fields, at in rows[start : start + chunk]:
                    seq += 1
                    entry = {**fields, "seq": seq, "at": at, "prev_hash": prev_hash}
                    prev_hash = entry["entry_hash"] = compute_entry_hash(entry)
                    entries.append(entry)
                session.execute(insert(cast(Table, AuditEntry.__table__)), entries)
                seqs.extend(entry["seq"] for entry in entries)
                head = WitnessHead(seq=seq, entry_hash=prev_hash, after=before)
                lines.append(head.witness_line())
                before = prev_hash
                sealed = self._seal(session, seq, prev_hash, _last_checkpoint(session))
                if sealed.new:
                    lines.append(sealed.checkpoint.witness_line())
                out.checkpoint = sealed.checkpoint
            _append_witness_lines(self._witness, lines)
            out.head = head
            return seqs

        return self._run("an append", body)

    def append_unless(
        self, ctx: AuditContext, event: AuditEvent, *, exists: ColumnElement[bool]
    ) -> int | None:
        """Record ``event`` unless an entry matching ``exists`` is in the trail; None if one is.

        The check runs under the append lock in the same transaction as the append, so of
        several processes racing to record the same once-only event exactly one does.

        :raises InvalidAuditEntry: when a value of ``event`` is not allowed.
        :raises AuditUnavailable: when the audit store cannot answer or take the entry.
        """
        fields = _validated(ctx, event)

        def body(session: Session, out: _Written) -> int | None:
            if session.scalar(select(sql_exists().where(exists))):
                return None
            return self._append(session, [fields], out)[0]

        return self._run("an append", body)

    def mark_not_applied(
        self, ctx: AuditContext, seqs: Iterable[int], reason: NotAppliedReason
    ) -> list[int]:
        """Record that the changes of entries ``seqs`` did not happen, one entry per seq.

        Each marker (``audit:change:not_applied``, outcome error) names the entry it corrects
        as ``audit_entry``/seq and carries its case and school, so the trail never claims a
        change the case store does not hold. All markers are appended in one transaction.

        :raises InvalidAuditEntry: when a seq names no entry, or ``reason`` is not one of
            the fixed reasons (nothing is written).
        :raises AuditUnavailable: when the audit store cannot take the markers.
        """
        wanted = sorted(set(seqs))
        try:
            reason = NotAppliedReason(reason)
        except ValueError:
            raise InvalidAuditEntry("reason is not one of the fixed reasons") from None
        if not wanted:
            return []

        def body(session: Session, out: _Written) -> list[int]:
            found = {
                row.seq: row
                for row in session.execute(
                    select(AuditEntry.seq, AuditEntry.case_id, AuditEntry.school_id).where(
                        AuditEntry.seq.in_(wanted)
                    )
                )
            }
            if len(found) != len(wanted):
                raise InvalidAuditEntry("mark_not_applied names an entry that does not exist")
            rows = [
                _validated(
                    ctx,
                    AuditEvent(
                        action=AuditAction.AUDIT_CHANGE_NOT_APPLIED,
                        outcome=Outcome.ERROR,
                        object_type="audit_entry",
                        object_id=seq,
                        case_id=found[seq].case_id,
                        school_id=found[seq].school_id,
                        purpose=reason.value,
                    ),
                )
                for seq in wanted
            ]
            return self._append(session, rows, out)

        return self._run("an append", body)

    def checkpoint(
        self, ctx: AuditContext | None = None, event: AuditEvent | None = None
    ) -> SignedCheckpoint | None:
        """Sign the head of the chain now, store the checkpoint and append it to the witness.

        With ``ctx``, first records ``event`` (by default ``audit:checkpoint:signed``) by that
        actor and seals the chain including it, in the same transaction. Without it, seals the
        current head, or returns the existing checkpoint when the head is already sealed, or
        None when the trail is empty. ``btam init`` and ``btam demo`` end with one.

        :raises InvalidAuditEntry: when ``event`` holds a value that is not allowed.
        :raises AuditUnavailable: when the store, the signing key or the witness file cannot
            take it.
        """
        fields = None
        if ctx is not None:
            fields = _validated(
                ctx, event or AuditEvent(action=AuditAction.AUDIT_CHECKPOINT_SIGNED)
            )

        def body(session: Session, out: _Written) -> SignedCheckpoint | None:
            if fields is not None:
                self._append(session, [fields], out, seal=True)
            else:
                head = _head(session)
                if head is None:
                    return None
                sealed = self._seal(session, *head, _last_checkpoint(session))
                if sealed.new:
                    _append_witness_lines(self._witness, [sealed.checkpoint.witness_line()])
                out.checkpoint = sealed.checkpoint
            return out.checkpoint

        return self._run("a checkpoint", body)

    # --- inside the append lock ------------------------------------------------------------

    def _run(self, what: str, body: Callable[[Session, _Written], T]) -> T:
        out = _Written()
        try:
            with self._sessions() as session, session.begin():
                take_append_lock(session)
                return body(session, out)
        except (SQLAlchemyError, OSError, SigningKeyError) as exc:
            if out.head is not None:
                # The witness already holds this head; `verify` will report the store lacking
                # it, and this line tells the operator it was a failed commit, not tampering.
                log.error(
                    "audit store refused %s after the witness saw seq %d (%s); "
                    "btam audit verify will report that head as missing",
                    what,
                    out.head.seq,
                    _describe(exc),
                )
            else:
                log.error("audit store refused %s (%s)", what, _describe(exc))
            message = (
                "the audit store cannot sign a checkpoint"
                if what == "a checkpoint"
                else "the audit store cannot record this action"
            )
            raise AuditUnavailable(message) from None

    def _append(
        self,
        session: Session,
        rows: list[dict[str, Any]],
        out: _Written,
        *,
        seal: bool = False,
    ) -> list[int]:
        # Read under the append lock, so no other writer can take the same seq or prev_hash.
        seq, prev_hash = _head(session) or (0, GENESIS_HASH)
        before = prev_hash
        now = self._clock()
        entries = []
        for fields in rows:
            seq += 1
            entry = {**fields, "seq": seq, "at": now, "prev_hash": prev_hash}
            prev_hash = entry["entry_hash"] = compute_entry_hash(entry)
            entries.append(entry)
        session.execute(insert(AuditEntry), entries)

        lines = [WitnessHead(seq=seq, entry_hash=prev_hash, after=before).witness_line()]
        last = _last_checkpoint(session)
        if seal or self._checkpoint_due(seq, now, last):
            sealed = self._seal(session, seq, prev_hash, last)
            out.checkpoint = sealed.checkpoint
            if sealed.new:
                lines.append(sealed.checkpoint.witness_line())
        # Written while the append lock is held, so witness lines are in commit order across
        # processes, and before COMMIT, so no head or checkpoint exists in the database
        # without its witness line. If COMMIT then fails, the witness keeps lines the
        # database lacks and `verify` reports them: a false alarm is the safe failure here.
        _append_witness_lines(self._witness, lines)
        out.head = WitnessHead(seq=seq, entry_hash=prev_hash, after=before)
        return [entry["seq"] for entry in entries]

    def _checkpoint_due(self, seq: int, now: datetime, last: AuditCheckpoint | None) -> bool:
        if self._checkpoint_every and seq - (last.seq if last else 0) >= self._checkpoint_every:
            return True
        if self._checkpoint_age:
            return last is None or now - last.signed_at >= self._checkpoint_age
        return False

    def _key(self) -> Ed25519PrivateKey:
        if isinstance(self._signing_key, SigningKeyFile):
            return self._signing_key.current()
        return self._signing_key

    def _seal(
        self, session: Session, seq: int, entry_hash: str, last: AuditCheckpoint | None
    ) -> _Sealed:
        if last is not None and last.seq == seq:
            return _Sealed(last.signed(), new=False)
        checkpoint = SignedCheckpoint.sign(
            self._key(),
            id=last.id + 1 if last is not None else 1,
            seq=seq,
            entry_hash=entry_hash,
            signed_at=self._clock(),
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
        return _Sealed(checkpoint, new=True)


@dataclass
class _Written:
    """What one transaction has put in the witness so far, for the error path and the caller."""

    head: WitnessHead | None = None
    checkpoint: SignedCheckpoint | None = None


@dataclass(frozen=True)
class _Sealed:
    checkpoint: SignedCheckpoint
    new: bool


def _head(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row.seq, row.entry_hash) if row is not None else None


def _last_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.execute(
        select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
    ).scalar_one_or_none()


def _append_witness_lines(path: Path | None, lines: list[str]) -> None:
    if path is None or not lines:
        return
    data = "".join(lines).encode("ascii")
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
    return writer_for(settings, stores.audit_sessions)


def writer_for(settings: Settings, sessions: sessionmaker[Session]) -> AuditWriter:
    """An audit writer on ``sessions`` with the settings' key, witness and checkpoint bounds.

    :raises SigningKeyError: when the audit signing key cannot be loaded.
    """
    return AuditWriter(
        sessions,
        signing_key=SigningKeyFile(settings.audit_signing_key_file),
        checkpoint_every=settings.audit_checkpoint_every,
        checkpoint_minutes=settings.audit_checkpoint_minutes,
        witness=settings.audit_witness,
    )
