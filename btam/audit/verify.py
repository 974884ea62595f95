"""Re-walk the audit chain and its signed checkpoints; say where it was tampered with.

What is detected, and how:

* an edited entry: its recomputed hash differs from the stored one, or (when the editor also
  recomputed hashes) the next entry's ``prev_hash`` no longer links, or (when the editor
  rewrote every later hash too) the next signed checkpoint no longer matches;
* a deleted entry: a gap in ``seq``; an inserted or reordered entry: a broken link;
* truncation after a checkpoint: a checkpoint (in the database or the witness file) seals a
  seq beyond the last entry, or seals a different hash;
* a forged, altered or foreign-key checkpoint: a bad signature; a deleted checkpoint: a gap
  in checkpoint ids, or a witness line the database lacks;
* a rewritten witness file: a line that disagrees with, or is missing for, a database
  checkpoint.

What cannot be detected: entries appended after the last checkpoint can be removed or
rewritten by someone with write access to the database without any trace. Checkpoints every
N entries (``audit_checkpoint_every``) and the witness bound that window.

The walk is streamed in batches by keyset pagination, so memory stays flat for millions of
entries, and it is bounded by the head read under the append lock at the start, so entries
appended while it runs are neither half-seen nor reported as tampering.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from btam.audit.models import AuditCheckpoint, AuditEntry
from btam.audit.signing import SignedCheckpoint, key_fingerprint
from btam.audit.writer import GENESIS_HASH, AuditUnavailable, compute_entry_hash, take_append_lock

__all__ = ["VerifyResult", "postgres_role_sql", "verify_chain"]

Progress = Callable[[int, int], None]
DEFAULT_BATCH = 5000


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of one verification.

    ``entries`` entries were walked and ``checkpoints`` signed checkpoints checked. When
    ``ok`` is false, ``first_bad_seq`` is the lowest sequence number at which the trail is
    wrong (None only when the witness file itself is unreadable as a record) and ``reason``
    says what is wrong in one line. ``last_checkpoint_seq`` is the newest seq a valid
    signature vouches for.
    """

    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None
    reason: str
    head_seq: int = 0
    last_checkpoint_seq: int | None = None


class _Tampered(Exception):
    def __init__(self, seq: int | None, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True)
class _Claim:
    """A valid checkpoint to match against the walk, or a problem found at ``seq``."""

    seq: int | None
    checkpoint: SignedCheckpoint | None = None
    problem: str | None = None


@dataclass(frozen=True)
class _Malformed:
    line_no: int


@dataclass(frozen=True)
class _Bounds:
    head_seq: int
    last_checkpoint_id: int
    witness_bytes: int | None  # None: no witness to compare


class _Verification:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        public_key: Ed25519PublicKey,
        witness: Path | None,
        batch_size: int,
    ) -> None:
        self.sessions = sessions
        self.public_key = public_key
        self.key_id = key_fingerprint(public_key)
        self.witness = witness
        self.batch_size = batch_size
        self.entries = 0
        self.checkpoints = 0
        self.last_checkpoint_seq: int | None = None

    def bounds(self) -> _Bounds:
        # Under the append lock no append is half done: every checkpoint row visible has its
        # entry visible, and every witness line written so far belongs to a committed row
        # (or to a failed COMMIT, which verify rightly reports).
        with self.sessions() as session, session.begin():
            take_append_lock(session)
            head = session.scalar(select(func.max(AuditEntry.seq))) or 0
            last_id = session.scalar(select(func.max(AuditCheckpoint.id))) or 0
            witness_bytes = None
            if self.witness is not None:
                try:
                    witness_bytes = self.witness.stat().st_size
                except FileNotFoundError:
                    witness_bytes = 0
                except OSError as exc:
                    raise AuditUnavailable(
                        f"the witness file cannot be read ({exc.strerror})"
                    ) from None
        return _Bounds(head, last_id, witness_bytes)

    def anchor(self, from_seq: int, bounds: _Bounds) -> SignedCheckpoint | None:
        """The newest checkpoint before ``from_seq`` with a valid signature, if any."""
        if from_seq <= 1:
            return None
        with self.sessions() as session:
            row = session.scalars(
                select(AuditCheckpoint)
                .where(
                    AuditCheckpoint.seq < from_seq,
                    AuditCheckpoint.id <= bounds.last_checkpoint_id,
                )
                .order_by(AuditCheckpoint.seq.desc())
                .limit(1)
            ).first()
            checkpoint = row.signed() if row is not None else None
        if checkpoint is None or not checkpoint.signature_valid(self.public_key):
            # Not vouched for: start from genesis, and the walk reports the bad signature.
            return None
        return checkpoint

    def db_checkpoints(self, bounds: _Bounds) -> Iterator[SignedCheckpoint]:
        last_id = 0
        while True:
            with self.sessions() as session:
                rows = [
                    row.signed()
                    for row in session.scalars(
                        select(AuditCheckpoint)
                        .where(
                            AuditCheckpoint.id > last_id,
                            AuditCheckpoint.id <= bounds.last_checkpoint_id,
                        )
                        .order_by(AuditCheckpoint.id)
                        .limit(self.batch_size)
                    )
                ]
            if not rows:
                return
            yield from rows
            last_id = rows[-1].id

    def witness_lines(self, bounds: _Bounds) -> Iterator[SignedCheckpoint | _Malformed]:
        if self.witness is None or not bounds.witness_bytes:
            return
        try:
            with self.witness.open("rb") as fh:
                remaining = bounds.witness_bytes
                line_no = 0
                while remaining > 0:
                    raw = fh.readline(remaining)
                    if not raw:
                        return
                    remaining -= len(raw)
                    line_no += 1
                    try:
                        if not raw.endswith(b"\n"):
                            raise ValueError("torn line")
                        yield SignedCheckpoint.from_witness_line(raw.decode("ascii"))
                    except (ValueError, UnicodeDecodeError):
                        yield _Malformed(line_no)
        except OSError as exc:
            raise AuditUnavailable(f"the witness file cannot be read ({exc.strerror})") from None

    def claims(self, bounds: _Bounds) -> Iterator[_Claim]:
        """Valid checkpoints in order, ending with the first problem found among them."""
        witness_on = self.witness is not None
        db = self.db_checkpoints(bounds)
        lines = self.witness_lines(bounds)
        expected_id = 1
        previous_seq = 0
        while True:
            cp = next(db, None)
            line = next(lines, None) if witness_on else None
            if cp is None and line is None:
                return
            if witness_on:
                if isinstance(line, _Malformed):
                    yield _Claim(
                        cp.seq if cp else None,
                        problem=f"witness line {line.line_no} is not a checkpoint record",
                    )
                    return
                if cp is None:
                    assert line is not None  # noqa: S101  (both None returned above)
                    signed = "signed " if line.signature_valid(self.public_key) else ""
                    yield _Claim(
                        line.seq,
                        problem=f"{signed}checkpoint #{line.id} sealing seq {line.seq} is in "
                        "the witness file but not in the database",
                    )
                    return
                if line is None:
                    yield _Claim(
                        cp.seq,
                        problem=f"checkpoint #{cp.id} sealing seq {cp.seq} is missing from "
                        "the witness file",
                    )
                    return
                if line != cp:
                    yield _Claim(
                        min(cp.seq, line.seq),
                        problem=f"the witness file and the database disagree about "
                        f"checkpoint #{cp.id}",
                    )
                    return
            assert cp is not None  # noqa: S101  (witness off: loop ends when cp is None)
            if cp.id != expected_id:
                yield _Claim(
                    cp.seq, problem=f"checkpoint #{expected_id} is missing (before seq {cp.seq})"
                )
                return
            if cp.seq <= previous_seq:
                yield _Claim(cp.seq, problem=f"checkpoint #{cp.id} is out of order")
                return
            if cp.key_id != self.key_id:
                yield _Claim(
                    cp.seq, problem=f"checkpoint #{cp.id} at seq {cp.seq} names another key"
                )
                return
            if not cp.signature_valid(self.public_key):
                yield _Claim(
                    cp.seq, problem=f"checkpoint #{cp.id} at seq {cp.seq} has a bad signature"
                )
                return
            yield _Claim(cp.seq, checkpoint=cp)
            expected_id += 1
            previous_seq = cp.seq

    def walk(
        self,
        bounds: _Bounds,
        start: SignedCheckpoint | None,
        progress: Progress | None,
    ) -> None:
        claims = self.claims(bounds)
        start_seq = start.seq + 1 if start else 1
        running = start.entry_hash if start else GENESIS_HASH
        total = max(bounds.head_seq - start_seq + 1, 0)

        pending = next(claims, None)
        # Checkpoints the walk does not reach are still checked (signature, witness, order)
        # by claims(); the anchor itself is the one that vouches for the starting hash.
        while pending is not None and pending.problem is None and pending.seq is not None:
            if pending.seq >= start_seq:
                break
            self._vouched(pending)
            pending = next(claims, None)

        expected = start_seq
        last_seq = start_seq - 1
        while last_seq < bounds.head_seq:
            with self.sessions() as session:
                rows = session.execute(
                    select(AuditEntry.__table__)
                    .where(AuditEntry.seq > last_seq, AuditEntry.seq <= bounds.head_seq)
                    .order_by(AuditEntry.seq)
                    .limit(self.batch_size)
                ).all()
            if not rows:
                break
            for row in rows:
                entry = row._mapping
                seq = entry["seq"]
                if seq > expected:
                    raise _Tampered(expected, f"entry {expected} is missing (deleted)")
                if seq < expected:
                    raise _Tampered(seq, f"entry {seq} is out of sequence")
                if entry["prev_hash"] != running:
                    raise _Tampered(
                        seq,
                        f"entry {seq} does not follow entry {seq - 1} "
                        "(an entry was inserted, removed or reordered)",
                    )
                digest = compute_entry_hash(entry)
                if digest != entry["entry_hash"]:
                    raise _Tampered(seq, f"entry {seq} was altered (its hash does not match)")
                while pending is not None and (pending.seq is not None and pending.seq <= seq):
                    if pending.problem is not None:
                        raise _Tampered(pending.seq, pending.problem)
                    assert pending.checkpoint is not None  # noqa: S101  (no problem => checkpoint)
                    if pending.seq < seq or pending.checkpoint.entry_hash != digest:
                        raise _Tampered(
                            pending.seq,
                            f"entry {pending.seq} differs from what checkpoint "
                            f"#{pending.checkpoint.id} signed",
                        )
                    self._vouched(pending)
                    pending = next(claims, None)
                running = digest
                expected = seq + 1
                last_seq = seq
                self.entries += 1
            if progress is not None:
                progress(self.entries, total)

        if pending is not None:
            if pending.seq is None:
                raise _Tampered(None, pending.problem or "the witness file is malformed")
            if pending.seq > last_seq:
                what = pending.problem or (
                    f"checkpoint #{pending.checkpoint.id if pending.checkpoint else '?'} "
                    f"seals seq {pending.seq}"
                )
                raise _Tampered(
                    last_seq + 1,
                    f"entries after seq {last_seq} were removed: {what}",
                )
            raise _Tampered(pending.seq, pending.problem or "checkpoint not matched")

    def _vouched(self, claim: _Claim) -> None:
        self.checkpoints += 1
        self.last_checkpoint_seq = claim.seq


def verify_chain(
    sessions: sessionmaker[Session],
    *,
    public_key: Ed25519PublicKey,
    witness: Path | None,
    from_seq: int = 1,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> VerifyResult:
    """Re-walk the chain and checkpoints (and the witness file, when given); report the first fault.

    ``from_seq`` > 1 starts at the newest checkpoint *before* ``from_seq`` whose signature is
    valid, taking its signed hash as the expected ``prev_hash`` of the next entry: a stored
    ``prev_hash`` alone proves nothing, since whoever edits entries can edit it too. Without
    such a checkpoint the walk starts at the genesis. So the walk covers at least
    ``from_seq`` onwards. Every checkpoint's signature, order and witness line are checked
    either way. ``progress(done, total)`` is called after each batch.

    :raises ValueError: when ``from_seq`` is below 1 or beyond the entry after the head.
    :raises AuditUnavailable: when the store or the witness file cannot be read.
    """
    if from_seq < 1 or batch_size < 1:
        raise ValueError("from_seq and batch_size must be at least 1")
    run = _Verification(sessions, public_key, witness, batch_size)
    try:
        bounds = run.bounds()
        if from_seq > bounds.head_seq + 1:
            raise ValueError(f"--from {from_seq} is beyond the last entry ({bounds.head_seq})")
        run.walk(bounds, run.anchor(from_seq, bounds), progress)
    except _Tampered as bad:
        return VerifyResult(
            ok=False,
            entries=run.entries,
            checkpoints=run.checkpoints,
            first_bad_seq=bad.seq,
            reason=bad.reason,
            head_seq=bounds.head_seq,
            last_checkpoint_seq=run.last_checkpoint_seq,
        )
    except SQLAlchemyError:
        raise AuditUnavailable("the audit store cannot be read") from None
    return VerifyResult(
        ok=True,
        entries=run.entries,
        checkpoints=run.checkpoints,
        first_bad_seq=None,
        reason=f"{run.entries} entries and {run.checkpoints} checkpoints verified",
        head_seq=bounds.head_seq,
        last_checkpoint_seq=run.last_checkpoint_seq,
    )


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def postgres_role_sql(owner: str, app_role: str, database: str) -> str:
    """The SQL a DBA runs once so the application may only INSERT and SELECT audit rows.

    Run it as a superuser connected to the (already created, empty) audit database, e.g.
    ``createdb btam_audit && psql -d btam_audit -f roles.sql``; then give each role a
    password (``\\password``), run the audit migrations (``btam init``) as ``owner``, and
    give the application only ``app_role``'s URL. Default privileges make tables the owner
    creates later readable and insertable by the app role and nothing more; the migration's
    triggers refuse UPDATE, DELETE and TRUNCATE even to the owner. Safe to run again.

    :raises ValueError: when a name is not a plain lowercase identifier (the names are
        spliced into SQL, so nothing else is accepted).
    """
    for name in (owner, app_role, database):
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"{name!r} is not a plain lowercase PostgreSQL identifier")
    if owner == app_role:
        raise ValueError("the owner and the application role must differ")
    o, a, d = f'"{owner}"', f'"{app_role}"', f'"{database}"'
    # S608: every spliced name was matched against _IDENTIFIER above.
    return f"""\
-- BTAM audit store: an owner role that runs migrations and an application role that may only
-- INSERT and SELECT. Run as a superuser, connected to database {d}.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{owner}') THEN
    CREATE ROLE {o} LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app_role}') THEN
    CREATE ROLE {a} LOGIN;
  END IF;
END
$$;
ALTER DATABASE {d} OWNER TO {o};
REVOKE ALL ON DATABASE {d} FROM PUBLIC;
GRANT CONNECT ON DATABASE {d} TO {a};
ALTER SCHEMA public OWNER TO {o};
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {a};
ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO {a};
ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT USAGE ON SEQUENCES TO {a};
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {a};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {a};
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {a};
"""  # noqa: S608
