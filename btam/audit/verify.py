"""Re-walk the audit chain, checkpoints and witness file; say where it was tampered with.

What is detected, and how:

* an edited entry: its recomputed hash differs from the stored one, or (when the editor also
  recomputed hashes) the next entry's ``prev_hash`` no longer links, or (when the editor
  rewrote every later hash too) the next witness head line or signed checkpoint no longer
  matches;
* a deleted entry: a gap in ``seq``; an inserted or reordered entry: a broken link;
* truncation, even of the last entry: the witness holds a head line (or a checkpoint, in the
  database or the witness) for a seq beyond the last entry, or for a different hash;
* entries added behind the writer's back, at the end or in between: the witness's last head
  line is older than the last entry, or a head line does not follow the one before it;
* a forged, altered or foreign-key checkpoint: a bad signature, a key outside the ring, or a
  key that an earlier checkpoint's key had replaced; a deleted checkpoint: a gap in
  checkpoint ids, or a witness line the database lacks;
* a rewritten witness file: a line that disagrees with, or is missing for, a database
  checkpoint, or head lines that no longer chain.

With the witness intact nothing committed can be changed unseen. Without it (a witness kept
beside the store and edited with it), entries after the last signed checkpoint can be
removed or rewritten by someone with write access to the database: the result says how many
entries that is and how old the oldest is, and checkpoints every few minutes bound it.

The walk is streamed in batches by keyset pagination, so memory stays flat for millions of
entries, and it is bounded by the head read under the append lock at the start, so entries
appended while it runs are neither half-seen nor reported as tampering. A batch is checked
as a whole (seqs, links, hashes, checkpoints, head lines compared many at a time) and walked
entry by entry only when something in it is wrong, to name the first fault; on a long trail
helper processes may re-hash batches ahead of the walk (:mod:`btam.audit.parallel`).
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import chain, count
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from btam.audit.models import AuditCheckpoint, AuditEntry
from btam.audit.parallel import Helpers
from btam.audit.rehash import StoredBatches
from btam.audit.signing import (
    HEAD_LINE_BYTES,
    SignedCheckpoint,
    WitnessHead,
    key_fingerprint,
    parse_witness_line,
)
from btam.audit.writer import ENTRY_FIELDS, GENESIS_HASH, AuditUnavailable, take_append_lock

__all__ = ["HELPERS_FROM", "VerifyResult", "postgres_role_sql", "verify_chain"]

Progress = Callable[[int, int], None]
DEFAULT_BATCH = 5000
# A walk of this many entries or more is worth starting helper processes for (see
# btam.audit.parallel); a shorter one goes alone.
HELPERS_FROM = 100_000
_COUNT_CHUNK = 1 << 20
_READ_BLOCK = 1 << 20
# A line that is no head line, found from the newline before it: a pattern that starts with a
# plain byte lets the regex engine skip ahead to each newline instead of trying every byte.
_NOT_HEAD_LINE = re.compile(rb'\n(?!\{"after":)([^\n]*)(?=\n)')
# Beyond any seq a head line can name (at most 19 digits): no entry reaches it.
_NO_SEQ = 10**20
# Sorted keys make each kind of witness line start the same way (see btam.audit.signing).
_HEAD_PREFIX = b'{"after":'
_CHECKPOINT_PREFIX = b'{"entry_hash":'
# Head lines compared at once when a run of them starts; doubled while they match, so a
# trail of multi-entry commits costs a few comparisons per line, not a batch's worth.
_MATCH_FIRST = 64
# Positions in a row of StoredRows.columns().
_PREV_HASH = ENTRY_FIELDS.index("prev_hash")
_ENTRY_HASH = len(ENTRY_FIELDS)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of one verification.

    ``entries`` entries were walked and ``checkpoints`` signed checkpoints checked. When
    ``ok`` is false, ``first_bad_seq`` is the lowest sequence number at which the trail is
    wrong (None only when the witness file itself is unreadable as a record) and ``reason``
    says what is wrong in one line. ``last_checkpoint_seq`` is the newest seq a valid
    signature vouches for, signed at ``last_checkpoint_at``.

    ``anchor_id``/``anchor_seq`` name the checkpoint whose signed hash a walk ``from_seq``
    started from: entries up to ``anchor_seq`` were not re-hashed. ``unsealed_entries`` entries
    (the oldest written at ``unsealed_since``) are under no signed checkpoint yet;
    ``witnessed_seq`` is the newest seq the witness file's head lines pin (None when it has
    none, as witness files written before head lines existed).
    """

    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None
    reason: str
    head_seq: int = 0
    last_checkpoint_seq: int | None = None
    last_checkpoint_at: datetime | None = None
    from_seq: int = 1
    anchor_id: int | None = None
    anchor_seq: int | None = None
    unsealed_entries: int = 0
    unsealed_since: datetime | None = None
    witnessed_seq: int | None = None


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


# A head line as the walk matches it: (line number, seq, entry_hash, after). A plain tuple,
# because the walk meets one per commit, a million on a long trail.
_Line = tuple[int, int, str, str]
# A witness line as read: its number and its bytes without the newline (None: torn, no newline).
_Raw = tuple[int, bytes | None]


@dataclass(frozen=True)
class _WitnessStart:
    """Where reading the witness starts: after the anchor's own checkpoint line, or at 0.

    ``lines`` lines come before ``offset``; the witness lines of checkpoints up to
    ``skip_id`` are not compared again; ``previous`` is the head line right before the
    anchor's, which the next head line must follow.
    """

    offset: int = 0
    lines: int = 0
    skip_id: int = 0
    previous: _Line | None = None


@dataclass(frozen=True)
class _Bounds:
    head_seq: int
    last_checkpoint_id: int
    witness_bytes: int | None  # None: no witness to compare


class _LineReader:
    """The witness's lines, one by one for the head lines' parser or many at a time."""

    def __init__(self, chunks: Iterator[tuple[int, bytes]]) -> None:
        self._chunks = chunks
        self._lines: list[bytes | None] = []
        self._pos = 0
        self._first = 0  # the number of self._lines[0]

    def __iter__(self) -> _LineReader:
        return self

    def __next__(self) -> _Raw:
        while self._pos >= len(self._lines):
            if not self._fill():
                raise StopIteration
        at = self._pos
        self._pos = at + 1
        return self._first + at, self._lines[at]

    @property
    def last_line_no(self) -> int:
        """The number of the line read last."""
        return self._first + self._pos - 1

    def _fill(self) -> bool:
        for first, chunk in self._chunks:
            lines: list[bytes | None]
            if chunk.endswith(b"\n"):
                lines = list(chunk.split(b"\n"))
                lines.pop()  # after the last newline
            elif chunk.startswith(_CHECKPOINT_PREFIX):
                continue  # a torn checkpoint line: witness_checkpoints reports it
            else:
                lines = [None]  # torn
            self._lines, self._pos, self._first = lines, 0, first
            return True
        return False

    def match(self, expected: list[bytes], start: int, most: int) -> int:
        """Read on while the lines are ``expected[start:]``, ``most`` at most; how many were.

        Only lines already read from the file are compared: fewer may match at the end of
        a block than would with the next one.
        """
        if self._pos >= len(self._lines) and not self._fill():
            return 0
        lines, pos = self._lines, self._pos
        most = min(most, len(lines) - pos)
        if most <= 0 or lines[pos] != expected[start]:
            return 0
        done, size = 0, _MATCH_FIRST
        while done < most:
            size = min(size, most - done)
            read = lines[pos + done : pos + done + size]
            wanted = expected[start + done : start + done + size]
            if read == wanted:
                done += size
                size *= 2
                continue
            for line, spelled in zip(read, wanted, strict=True):
                if line != spelled:
                    break
                done += 1
            break
        self._pos = pos + done
        return done


class _Heads:
    """The witness's head lines, matched against the entries as the walk reaches them."""

    def __init__(self, lines: _LineReader, start_seq: int, previous: _Line | None) -> None:
        self._lines = lines
        self._start_seq = start_seq
        self.pending: _Line | None = None
        self.previous: _Line | None = previous
        # The seq of the pending line, or one no entry reaches: the walk compares each seq
        # with it and calls see() only when an entry reaches a line.
        self.next_seq = _NO_SEQ
        # The entry see_all checked last against its line (the one at fault, if it raised).
        self.reached = 0
        self._advance()

    @property
    def witnessed_seq(self) -> int | None:
        """The newest seq a head line pins, once every line has been read."""
        return self.previous[1] if self.previous is not None else None

    def _read(self, first: _Raw | None = None) -> _Line | _Malformed | None:
        """The next head line, parsed; checkpoint lines of another spelling are passed over."""
        lines = self._lines if first is None else chain((first,), self._lines)
        for line_no, raw in lines:
            if raw is not None and raw.startswith(_CHECKPOINT_PREFIX):
                continue  # read by witness_checkpoints
            found = HEAD_LINE_BYTES.fullmatch(raw) if raw is not None else None
            if found is not None:
                # The writer's own spelling: read without the JSON parser.
                after, entry_hash, seq = found.groups()
                return line_no, int(seq), entry_hash.decode("ascii"), after.decode("ascii")
            record = _record(line_no, raw)
            if isinstance(record, WitnessHead):
                return line_no, record.seq, record.entry_hash, record.after
            if isinstance(record, _Malformed):
                return record
        return None

    def _advance(self) -> None:
        if self.pending is not None:
            self.previous = self.pending
        self._take(self._read())

    def _take(self, item: _Line | _Malformed | None) -> None:
        if isinstance(item, _Malformed):
            raise _Tampered(None, f"witness line {item.line_no} is not a witness record")
        if item is not None and self.previous is not None:
            line_no, seq, _entry_hash, after = item
            before_no, before_seq, before_hash, _ = self.previous
            if after != before_hash:
                raise _Tampered(
                    before_seq + 1,
                    f"witness line {line_no} (entry {seq}) does not follow line "
                    f"{before_no} (entry {before_seq}): entries were added behind "
                    "the witness's back, or a witness line is missing",
                )
            if seq <= before_seq:
                raise _Tampered(seq, f"witness line {line_no} is out of order")
        self.pending = item
        self.next_seq = item[1] if item is not None else _NO_SEQ

    def see(self, seq: int, digest: str, following: str | None = None) -> None:
        """Check entry ``seq`` against its head line, if the witness holds one.

        ``following`` is the hash of the entry after it, if known: when each commit holds
        one entry, the next line is then exactly the one the writer would have written for
        it, and a comparison of bytes reads it (the same as parsing it, for that spelling).
        """
        pending = self.pending
        if pending is not None and pending[1] == seq and pending[2] == digest:
            self.previous = pending
            item = next(self._lines, None)
            if item is None:
                self._take(None)
            elif following is not None and item[1] == (
                f'{{"after":"{digest}","entry_hash":"{following}","seq":{seq + 1}}}'.encode()
            ):
                self.pending = (item[0], seq + 1, following, digest)
                self.next_seq = seq + 1
            else:
                self._take(self._read(item))
            return
        while self.pending is not None and self.pending[1] < seq:
            if self.pending[1] < self._start_seq:
                self._advance()  # before the anchor: only the lines' own chain is checked
                continue
            raise _Tampered(
                self.pending[1],
                f"witness line {self.pending[0]} names entry {self.pending[1]} out of order",
            )
        if self.pending is not None and self.pending[1] == seq:
            if self.pending[2] != digest:
                raise _Tampered(
                    seq,
                    f"entry {seq} differs from what the witness saw committed (line "
                    f"{self.pending[0]}): it was rewritten, or its commit failed after "
                    "the line was written (the log then says so)",
                )
            self._advance()

    def see_all(self, first: int, digests: Sequence[str]) -> None:
        """:meth:`see` each entry of a batch from ``first`` in which the walk found no fault.

        Where each commit held one entry, the lines that follow are exactly those the writer
        would have written for the next entries: they are compared with them many at a time,
        and the state is left as the same calls of :meth:`see` one by one would leave it.
        """
        last = first + len(digests) - 1
        expected: list[bytes] | None = None
        while self.next_seq <= last:
            seq = max(self.next_seq, first)
            i = seq - first
            pending = self.pending
            if seq < last and pending is not None and pending[1:3] == (seq, digests[i]):
                if expected is None:
                    # expected[j]: the head line of entry first + 1 + j, as the writer spells it.
                    expected = [
                        f'{{"after":"{after}","entry_hash":"{digest}","seq":{number}}}'.encode()
                        for number, after, digest in zip(
                            count(first + 1), digests, digests[1:], strict=False
                        )
                    ]
                matched = self._lines.match(expected, i, last - seq)
                if matched:
                    # Lines of entries seq + 1 .. seq + matched, numbered one after the other.
                    line_no = self._lines.last_line_no
                    end = i + matched
                    self.previous = (
                        (line_no - 1, seq + matched - 1, digests[end - 1], digests[end - 2])
                        if matched > 1
                        else pending
                    )
                    self.pending = (line_no, seq + matched, digests[end], digests[end - 1])
                    self.next_seq = seq + matched
                    continue
            self.reached = seq
            self.see(seq, digests[i], digests[i + 1] if seq < last else None)

    def finish(self, last_seq: int, head_seq: int) -> None:
        """After the walk: no head line may lie beyond the last entry, none may be missing."""
        while self.pending is not None and self.pending[1] < self._start_seq:
            self._advance()
        if self.pending is not None:
            raise _Tampered(
                last_seq + 1,
                f"entries after seq {last_seq} were removed: the witness saw entry "
                f"{self.pending[1]} committed (line {self.pending[0]})",
            )
        witnessed = self.witnessed_seq
        if witnessed is not None and witnessed < head_seq:
            raise _Tampered(
                witnessed + 1,
                f"entries {witnessed + 1}-{head_seq} were never seen by the witness "
                "(added behind its back)",
            )


class _Verification:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        public_keys: Sequence[Ed25519PublicKey],
        witness: Path | None,
        batch_size: int,
        workers: int,
    ) -> None:
        self.sessions = sessions
        self.keys = {key_fingerprint(key): key for key in public_keys}
        self.witness = witness
        self.batch_size = batch_size
        self.workers = workers
        self.entries = 0
        self.checkpoints = 0
        self.last_checkpoint: SignedCheckpoint | None = None
        self.witnessed_seq: int | None = None
        self.start = _WitnessStart()

    def valid(self, checkpoint: SignedCheckpoint) -> bool:
        key = self.keys.get(checkpoint.key_id)
        return key is not None and checkpoint.signature_valid(key)

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
        if checkpoint is None or not self.valid(checkpoint):
            # Not vouched for: start from genesis, and the walk reports the bad signature.
            return None
        return checkpoint

    def db_checkpoints(self, bounds: _Bounds) -> Iterator[SignedCheckpoint]:
        last_id = 0
        while True:
            with self.sessions() as session:
                # Columns, not ORM objects: the auditor's page reads every checkpoint.
                rows = [
                    SignedCheckpoint(*row)
                    for row in session.execute(
                        select(
                            AuditCheckpoint.id,
                            AuditCheckpoint.seq,
                            AuditCheckpoint.entry_hash,
                            AuditCheckpoint.signed_at,
                            AuditCheckpoint.key_id,
                            AuditCheckpoint.signature,
                        )
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

    def locate(self, anchor: SignedCheckpoint, bounds: _Bounds) -> None:
        """Start reading the witness after the anchor's own line, if it holds that very line.

        A partial walk then reads only the witness's tail instead of a head line per commit
        since the beginning. Without that line the whole witness is read, and the walk
        reports what is wrong with it.
        """
        if self.witness is None or not bounds.witness_bytes:
            return
        needle = anchor.witness_line().encode("ascii")
        try:
            with (
                self.witness.open("rb") as fh,
                mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view,
            ):
                found = view.rfind(needle, 0, bounds.witness_bytes)
                if found < 0 or (found > 0 and view[found - 1] != ord("\n")):
                    return
                lines = sum(
                    view[at : min(at + _COUNT_CHUNK, found)].count(b"\n")
                    for at in range(0, found, _COUNT_CHUNK)
                )
                before = view.rfind(b"\n", 0, found - 1) + 1 if found else found
                record = _parse(view[before:found].decode("ascii", "replace")) if found else None
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not mappable"
            raise AuditUnavailable(f"the witness file cannot be read ({reason})") from None
        previous = (
            (lines, record.seq, record.entry_hash, record.after)
            if isinstance(record, WitnessHead)
            else None
        )
        self.start = _WitnessStart(found + len(needle), lines + 1, anchor.id, previous)

    def witness_chunks(self, bounds: _Bounds) -> Iterator[tuple[int, bytes]]:
        """The witness from the start offset to the bound, by chunks of whole lines.

        Each chunk comes with the number of its first line and ends with a newline, except
        a torn last line, which comes alone.
        """
        if self.witness is None or not bounds.witness_bytes:
            return
        try:
            with self.witness.open("rb") as fh:
                fh.seek(self.start.offset)
                remaining = bounds.witness_bytes - self.start.offset
                line_no = self.start.lines
                torn = b""
                while remaining > 0:
                    block = fh.read(min(_READ_BLOCK, remaining))
                    if not block:
                        break
                    remaining -= len(block)
                    data = torn + block
                    cut = data.rfind(b"\n") + 1
                    torn = data[cut:]
                    if cut:
                        yield line_no + 1, data[:cut]
                        line_no += data.count(b"\n", 0, cut)
                if torn:
                    yield line_no + 1, torn
        except OSError as exc:
            raise AuditUnavailable(f"the witness file cannot be read ({exc.strerror})") from None

    def witness_checkpoints(self, bounds: _Bounds) -> Iterator[SignedCheckpoint | _Malformed]:
        for first, chunk in self.witness_chunks(bounds):
            if not chunk.endswith(b"\n"):
                if not chunk.startswith(_HEAD_PREFIX):
                    yield _Malformed(first)
                continue
            # Every line but the head lines (read by the head lines' reader), found without
            # a Python step per line.
            if not chunk.startswith(_HEAD_PREFIX):
                record = _record(first, chunk[: chunk.index(b"\n")])
                if not isinstance(record, WitnessHead):
                    yield record
            line_no, counted = first, 0
            for found in _NOT_HEAD_LINE.finditer(chunk):
                # The line starts after the newline the match starts with.
                line_no += chunk.count(b"\n", counted, found.start() + 1)
                counted = found.start() + 1
                record = _record(line_no, found.group(1))
                if not isinstance(record, WitnessHead):
                    yield record

    def witness_heads(self, bounds: _Bounds) -> _LineReader:
        """Every line for the head lines' reader; it passes over checkpoint lines."""
        return _LineReader(self.witness_chunks(bounds))

    def claims(self, bounds: _Bounds) -> Iterator[_Claim]:
        """Valid checkpoints in order, ending with the first problem found among them."""
        witness_on = self.witness is not None
        db = self.db_checkpoints(bounds)
        lines = self.witness_checkpoints(bounds)
        expected_id = 1
        previous_seq = 0
        replaced: set[str] = set()
        current_key: str | None = None
        while True:
            cp = next(db, None)
            # Checkpoints up to the anchor's were matched with the witness when `locate`
            # found the anchor's own line there; their signatures are still checked below.
            paired = witness_on and (cp is None or cp.id > self.start.skip_id)
            line = next(lines, None) if paired else None
            if cp is None and line is None:
                return
            if paired:
                if isinstance(line, _Malformed):
                    yield _Claim(
                        cp.seq if cp else None,
                        problem=f"witness line {line.line_no} is not a witness record",
                    )
                    return
                if cp is None:
                    assert line is not None  # noqa: S101  (both None returned above)
                    signed = "signed " if self.valid(line) else ""
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
            if cp.key_id not in self.keys:
                yield _Claim(
                    cp.seq, problem=f"checkpoint #{cp.id} at seq {cp.seq} names another key"
                )
                return
            if not self.valid(cp):
                yield _Claim(
                    cp.seq, problem=f"checkpoint #{cp.id} at seq {cp.seq} has a bad signature"
                )
                return
            if cp.key_id != current_key:
                # Keys only move forward: a retired key (perhaps the reason it was retired)
                # cannot sign checkpoints after its successor has.
                if cp.key_id in replaced:
                    yield _Claim(
                        cp.seq,
                        problem=f"checkpoint #{cp.id} at seq {cp.seq} is signed by a key that "
                        "an earlier checkpoint's key replaced",
                    )
                    return
                if current_key is not None:
                    replaced.add(current_key)
                current_key = cp.key_id
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
        heads = _Heads(self.witness_heads(bounds), start_seq, self.start.previous)

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
        batches = StoredBatches(self.sessions, self.batch_size, bounds.head_seq)
        helpers = self._helpers(last_seq, bounds.head_seq, total)
        try:
            while last_seq < bounds.head_seq:
                rows: list[Sequence[Any]] | None = None
                digests: Sequence[str | None]
                taken = helpers.take(last_seq) if helpers is not None else None
                if taken is not None and taken.follows == running:
                    digests = taken.hashes
                else:
                    rows, stored = batches.after(last_seq)
                    if not rows:
                        break
                    digests = stored.readable_digests(rows)
                last = rows[-1][0] if rows is not None else last_seq + len(digests)
                within, pending = _claims_upto(pending, claims, last)
                if (rows is None or _sound(rows, digests, expected, running)) and _vouched_by(
                    within, expected, digests
                ):
                    # Nothing in the batch is wrong but perhaps its witness lines.
                    self._whole(heads, expected, cast(list[str], digests), within)
                    running = cast(str, digests[-1])
                    expected = last + 1
                else:
                    # Entry by entry, to report the first fault at its own entry.
                    if within:
                        claims = chain(within[1:], () if pending is None else (pending,), claims)
                        pending = within[0]
                    if rows is None:
                        rows, stored = batches.after(last_seq)
                        digests = stored.readable_digests(rows)
                    pending, running, expected = self._rows(
                        rows, digests, heads, (pending, claims), running, expected
                    )
                last_seq = expected - 1
                if progress is not None:
                    progress(self.entries, total)
        finally:
            if helpers is not None:
                helpers.stop()

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
        heads.finish(last_seq, bounds.head_seq)
        self.witnessed_seq = heads.witnessed_seq

    def _helpers(self, base: int, upto: int, total: int) -> Helpers | None:
        if self.workers < 1 or total < HELPERS_FROM:
            return None
        return Helpers.start(
            self.sessions, base=base, upto=upto, batch_size=self.batch_size, count=self.workers
        )

    def _whole(
        self, heads: _Heads, first: int, digests: list[str], claims: Sequence[_Claim]
    ) -> None:
        """Take a batch whose entries and checkpoints hold no fault; check its witness lines."""
        try:
            heads.see_all(first, digests)
        except _Tampered:
            # Count what the walk entry by entry would have before this fault.
            self.entries += heads.reached - first
            for claim in claims:
                if cast(int, claim.seq) < heads.reached:
                    self._vouched(claim)
            raise
        for claim in claims:
            self._vouched(claim)
        self.entries += len(digests)

    def _rows(
        self,
        rows: Sequence[Sequence[Any]],
        digests: Sequence[str | None],
        heads: _Heads,
        checkpoints: tuple[_Claim | None, Iterator[_Claim]],
        running: str,
        expected: int,
    ) -> tuple[_Claim | None, str, int]:
        """Walk a batch entry by entry, raising at the first fault.

        Returns the claim the walk waits for next, the hash the next entry must follow and
        the seq it must have.
        """
        pending, claims = checkpoints
        followings: list[str | None] = [*digests[1:], None]
        for row, digest, following in zip(rows, digests, followings, strict=True):
            seq = row[0]
            if seq > expected:
                raise _Tampered(expected, f"entry {expected} is missing (deleted)")
            if seq < expected:
                raise _Tampered(seq, f"entry {seq} is out of sequence")
            if row[_PREV_HASH] != running:
                raise _Tampered(
                    seq,
                    f"entry {seq} does not follow entry {seq - 1} "
                    "(an entry was inserted, removed or reordered)",
                )
            if digest is None:
                raise _Tampered(
                    seq, f"entry {seq} was altered (it holds a value no entry can hold)"
                )
            if digest != row[_ENTRY_HASH]:
                raise _Tampered(seq, f"entry {seq} was altered (its hash does not match)")
            if seq >= heads.next_seq:
                heads.see(seq, digest, following)
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
            self.entries += 1
        return pending, running, expected

    def _vouched(self, claim: _Claim) -> None:
        self.checkpoints += 1
        self.last_checkpoint = claim.checkpoint

    def unsealed_since(self, after_seq: int, head_seq: int) -> datetime | None:
        if after_seq >= head_seq:
            return None
        with self.sessions() as session:
            return session.scalar(select(AuditEntry.at).where(AuditEntry.seq == after_seq + 1))


def _sound(
    rows: Sequence[Sequence[Any]], digests: Sequence[str | None], expected: int, running: str
) -> bool:
    """Whether a batch read from ``expected`` on holds its seqs in order, linked and intact.

    Checked a list at a time; the walk goes entry by entry only through a batch that is not,
    to name its first fault.
    """
    return (
        None not in digests
        and [row[0] for row in rows] == list(range(expected, expected + len(rows)))
        and [row[_PREV_HASH] for row in rows] == [running, *digests[:-1]]
        and [row[_ENTRY_HASH] for row in rows] == digests
    )


def _vouched_by(claims: Sequence[_Claim], first: int, digests: Sequence[str | None]) -> bool:
    """Whether every claim is a checkpoint that signed the hash of its entry in the batch."""
    return all(
        claim.problem is None
        and claim.checkpoint is not None
        and claim.seq is not None
        and claim.seq >= first
        and claim.checkpoint.entry_hash == digests[claim.seq - first]
        for claim in claims
    )


def _claims_upto(
    pending: _Claim | None, claims: Iterator[_Claim], last: int
) -> tuple[list[_Claim], _Claim | None]:
    """The claims up to seq ``last`` from ``pending`` on, and the first one after them."""
    within: list[_Claim] = []
    while pending is not None and pending.seq is not None and pending.seq <= last:
        within.append(pending)
        pending = next(claims, None)
    return within, pending


def _record(line_no: int, raw: bytes | None) -> SignedCheckpoint | WitnessHead | _Malformed:
    if raw is None:
        return _Malformed(line_no)  # torn
    try:
        return parse_witness_line(raw.decode("ascii") + "\n")
    except (ValueError, UnicodeDecodeError):
        return _Malformed(line_no)


def _parse(line: str) -> SignedCheckpoint | WitnessHead | None:
    try:
        return parse_witness_line(line)
    except ValueError:
        return None


def verify_chain(
    sessions: sessionmaker[Session],
    *,
    public_key: Ed25519PublicKey | Sequence[Ed25519PublicKey],
    witness: Path | None,
    from_seq: int = 1,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH,
    workers: int = 0,
) -> VerifyResult:
    """Re-walk the chain and checkpoints (and the witness file, when given); report the first fault.

    ``public_key`` is the key, or the ring of keys (retired ones and the current one), whose
    signatures are accepted. ``from_seq`` > 1 starts at the newest checkpoint *before*
    ``from_seq`` whose signature is valid, taking its signed hash as the expected
    ``prev_hash`` of the next entry: a stored ``prev_hash`` alone proves nothing, since
    whoever edits entries can edit it too. Without such a checkpoint the walk starts at the
    genesis. So the walk covers at least ``from_seq`` onwards, and the result names the
    anchor. Every checkpoint's signature, order and witness line, and the witness's head
    lines' own chain, are checked either way. ``progress(done, total)`` is called after each
    batch. ``workers`` helper processes re-hash batches ahead of the walk when it is long
    (see :mod:`btam.audit.parallel`); the result is the same with or without them.

    :raises ValueError: when ``from_seq`` is below 1 or beyond the entry after the head.
    :raises AuditUnavailable: when the store or the witness file cannot be read.
    """
    if from_seq < 1 or batch_size < 1 or workers < 0:
        raise ValueError("from_seq and batch_size must be at least 1, workers at least 0")
    keys = [public_key] if isinstance(public_key, Ed25519PublicKey) else list(public_key)
    run = _Verification(sessions, keys, witness, batch_size, workers)
    anchor: SignedCheckpoint | None = None
    try:
        bounds = run.bounds()
        if from_seq > bounds.head_seq + 1:
            raise ValueError(f"--from {from_seq} is beyond the last entry ({bounds.head_seq})")
        anchor = run.anchor(from_seq, bounds)
        if anchor is not None:
            run.locate(anchor, bounds)
        try:
            run.walk(bounds, anchor, progress)
            failure = None
        except _Tampered as bad:
            failure = bad
        last = run.last_checkpoint
        sealed_seq = last.seq if last is not None else 0
        since = run.unsealed_since(sealed_seq, bounds.head_seq) if failure is None else None
    except SQLAlchemyError:
        raise AuditUnavailable("the audit store cannot be read") from None
    result = VerifyResult(
        ok=failure is None,
        entries=run.entries,
        checkpoints=run.checkpoints,
        first_bad_seq=None,
        reason=f"{run.entries} entries and {run.checkpoints} checkpoints verified",
        head_seq=bounds.head_seq,
        last_checkpoint_seq=last.seq if last is not None else None,
        last_checkpoint_at=last.signed_at if last is not None else None,
        from_seq=from_seq,
        anchor_id=anchor.id if anchor is not None else None,
        anchor_seq=anchor.seq if anchor is not None else None,
    )
    if failure is not None:
        return replace(result, first_bad_seq=failure.seq, reason=failure.reason)
    return replace(
        result,
        unsealed_entries=bounds.head_seq - sealed_seq,
        unsealed_since=since,
        witnessed_seq=run.witnessed_seq,
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
