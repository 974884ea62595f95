"""Audit trail figures: cost per audited request, append latency and verification speed.

    .venv/bin/python bench/audit.py                    # 1,000,000 entries (a minute or two)
    .venv/bin/python bench/audit.py --entries 100000   # quicker

Both stores are temporary SQLite files (WAL, as in production on one machine). Every figure
is printed beside a baseline measured in the same run, so the ratios hold on any machine:

* per audited request: the case-store change alone (one encrypted-size row, committed),
  against the same change after an audit append without a witness, and after an append
  that also writes and fsyncs the witness's head line (what production does);
* append and verify: against bare SHA-256 of the very same canonical bytes, so the ratio
  shows what the database, the encoding and the checks cost on top of the hash itself.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, text
from sqlalchemy.orm import sessionmaker

from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext
from btam.audit.models import AuditCheckpoint, AuditEntry
from btam.audit.signing import SignedCheckpoint, WitnessHead
from btam.audit.verify import HELPERS_FROM, verify_chain
from btam.audit.writer import GENESIS_HASH, AuditWriter, canonical_entry
from btam.db import make_engine
from btam.schema import upgrade

ACTIONS = [a.value for a in AuditAction]
OUTCOMES = [o.value for o in Outcome]


def bare_sha256_seconds(blobs: list[bytes]) -> float:
    sha256 = hashlib.sha256
    started = time.perf_counter()
    for blob in blobs:
        sha256(blob).hexdigest()
    return time.perf_counter() - started


def _figures(timings: list[float]) -> tuple[float, float, float]:
    quantiles = statistics.quantiles(timings, n=100)
    return statistics.fmean(timings), quantiles[49], quantiles[98]


def bench_request(workdir: Path, requests: int, checkpoint_every: int) -> None:
    """One change to the case store per request, with and without the audit append before it."""
    case = make_engine(f"sqlite:///{workdir / 'case.sqlite3'}")
    with case.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body_enc BLOB)"))
    ctx = AuditContext(
        actor_id=12, actor_role="team_member", request_id="0f3a9c", client_address="10.1.2.3"
    )
    writers: dict[str, AuditWriter | None] = {"no audit at all (baseline)": None}
    engines = [case]
    for label, witness in (
        ("audit append, no witness", None),
        ("audit append + witness head line, fsync'd", workdir / "request-witness.log"),
    ):
        engine = make_engine(
            f"sqlite:///{workdir / f'audit-{len(engines)}.sqlite3'}", immediate=True
        )
        upgrade(engine, "audit")
        engines.append(engine)
        writers[label] = AuditWriter(
            sessionmaker(engine),
            signing_key=Ed25519PrivateKey.generate(),
            checkpoint_every=checkpoint_every,
            checkpoint_minutes=5,
            witness=witness,
        )

    def request(writer: AuditWriter | None, i: int) -> None:
        if writer is not None:
            writer.append(
                ctx,
                action=AuditAction.CASE_NOTE_ADDED,
                outcome=Outcome.ALLOWED,
                object_type="note",
                object_id=i,
                case_id=i % 900 + 1,
                school_id=3,
            )
        with case.begin() as conn:
            conn.execute(text("INSERT INTO notes (body_enc) VALUES (:b)"), {"b": os.urandom(240)})

    results: dict[str, list[float]] = {label: [] for label in writers}
    # Interleaved, so a slow moment of the disk weighs on every variant alike.
    for i in range(requests):
        for label, writer in writers.items():
            started = time.perf_counter()
            request(writer, i)
            results[label].append(time.perf_counter() - started)
    for engine in engines:
        engine.dispose()

    base = statistics.fmean(results["no audit at all (baseline)"])
    print(f"per audited request ({requests} requests, one case-store change each, fsync'd WAL):")
    for label, timings in results.items():
        mean, p50, p99 = _figures(timings)
        print(
            f"  {label:<44} mean {mean * 1e6:8.1f} us  p50 {p50 * 1e6:8.1f} us  "
            f"p99 {p99 * 1e6:8.1f} us  {mean / base:5.2f}x"
        )
    with_witness = statistics.fmean(results["audit append + witness head line, fsync'd"])
    without = statistics.fmean(results["audit append, no witness"])
    print(f"  the witness head line costs {(with_witness - without) * 1e6:.1f} us per request\n")


def bench_append(workdir: Path, appends: int, checkpoint_every: int) -> None:
    engine = make_engine(f"sqlite:///{workdir / 'append.sqlite3'}", immediate=True)
    upgrade(engine, "audit")
    sessions = sessionmaker(engine)
    writer = AuditWriter(
        sessions,
        signing_key=Ed25519PrivateKey.generate(),
        checkpoint_every=checkpoint_every,
        witness=workdir / "append-witness.log",
    )
    ctx = AuditContext(
        actor_id=12, actor_role="counselor", request_id="0f3a9c", client_address="10.1.2.3"
    )
    timings = []
    for i in range(appends):
        started = time.perf_counter()
        writer.append(
            ctx,
            action=AuditAction.AUDIT_TRAIL_VIEWED,
            outcome=Outcome.ALLOWED,
            object_type="case",
            object_id=f"2025-{i:05d}",
            case_id=i + 1,
            school_id=3,
            purpose="threat assessment: legitimate educational interest",
        )
        timings.append(time.perf_counter() - started)
    with sessions() as session:
        blobs = [
            canonical_entry(row._mapping) for row in session.execute(AuditEntry.__table__.select())
        ]
    engine.dispose()

    bare = bare_sha256_seconds(blobs) / len(blobs)
    mean, p50, p99 = _figures(timings)
    print(
        f"append ({appends} entries, checkpoint every {checkpoint_every}, "
        "witness head lines, fsync'd WAL):"
    )
    print(
        f"  per entry: mean {mean * 1e6:9.1f} us   p50 {p50 * 1e6:9.1f} us   "
        f"p99 {p99 * 1e6:9.1f} us"
    )
    print(f"  bare SHA-256 of the same bytes: {bare * 1e6:9.3f} us   ratio {mean / bare:,.0f}x")


def generate_chain(
    workdir: Path, entries: int, checkpoint_every: int, key: Ed25519PrivateKey
) -> tuple[Any, float]:
    """Bulk-insert a valid chain; return the engine and the bare SHA-256 time of its bytes."""
    engine = make_engine(f"sqlite:///{workdir / 'verify.sqlite3'}", immediate=True)
    upgrade(engine, "audit")
    witness = workdir / "verify-witness.log"
    start = datetime(2025, 1, 1, tzinfo=UTC)
    previous = GENESIS_HASH
    bare = 0.0
    chunk = 20_000
    checkpoint_id = 0
    with witness.open("w") as witness_file:
        for first in range(1, entries + 1, chunk):
            rows: list[dict[str, Any]] = []
            blobs: list[bytes] = []
            checkpoints: list[dict[str, Any]] = []
            for seq in range(first, min(first + chunk, entries + 1)):
                row: dict[str, Any] = {
                    "seq": seq,
                    "at": start + timedelta(milliseconds=seq * 37),
                    "actor_id": seq % 400 + 1,
                    "actor_role": "team_member",
                    "action": ACTIONS[seq % len(ACTIONS)],
                    "outcome": OUTCOMES[seq % 3],
                    "object_type": "case",
                    "object_id": f"2025-{seq % 90000:05d}",
                    "case_id": seq % 90000 + 1,
                    "school_id": seq % 40 + 1,
                    "purpose": "threat assessment: legitimate educational interest",
                    "request_id": f"{seq:016x}",
                    "client_address": f"10.{seq % 200}.{seq % 250}.{seq % 240 + 1}",
                    "prev_hash": previous,
                }
                blob = canonical_entry(row)
                blobs.append(blob)
                after = previous
                previous = row["entry_hash"] = hashlib.sha256(blob).hexdigest()
                # One commit per entry, as requests make them: one head line each.
                witness_file.write(WitnessHead(seq, previous, after).witness_line())
                rows.append(row)
                if checkpoint_every and seq % checkpoint_every == 0:
                    checkpoint_id += 1
                    signed = SignedCheckpoint.sign(
                        key, id=checkpoint_id, seq=seq, entry_hash=previous, signed_at=row["at"]
                    )
                    checkpoints.append(signed.__dict__.copy())
                    witness_file.write(signed.witness_line())
            bare += bare_sha256_seconds(blobs)
            with engine.begin() as conn:
                conn.execute(insert(AuditEntry.__table__), rows)
                if checkpoints:
                    conn.execute(insert(AuditCheckpoint.__table__), checkpoints)
    return engine, bare


def bench_verify(
    workdir: Path, entries: int, checkpoint_every: int, batch_size: int, workers: int
) -> None:
    key = Ed25519PrivateKey.generate()
    started = time.perf_counter()
    engine, bare = generate_chain(workdir, entries, checkpoint_every, key)
    print(f"\ngenerated {entries:,} chained entries in {time.perf_counter() - started:.1f} s")
    elapsed: dict[int, float] = {}
    # One process alone, then with helper processes as `btam audit verify` runs by default;
    # alternated, so a busy moment of the machine weighs on both alike.
    workers = workers if entries >= HELPERS_FROM else 0  # a shorter walk takes no helpers
    for helpers in (0, workers, 0, workers) if workers else (0, 0):
        started = time.perf_counter()
        result = verify_chain(
            sessionmaker(engine),
            public_key=key.public_key(),
            witness=workdir / "verify-witness.log",
            batch_size=batch_size,
            workers=helpers,
        )
        seconds = time.perf_counter() - started
        assert result.ok and result.entries == entries, result
        elapsed[helpers] = min(elapsed.get(helpers, seconds), seconds)
    rate, bare_rate = entries / elapsed[0], entries / bare
    print(
        f"verify ({result.checkpoints:,} checkpoints, a witness head line per entry, "
        f"batches of {batch_size}, best of 2):"
    )
    print(f"  {rate:12,.0f} entries/s   ({elapsed[0]:.1f} s, one process)")
    if workers:
        print(
            f"  {entries / elapsed[workers]:12,.0f} entries/s   ({elapsed[workers]:.1f} s, "
            f"with {workers} helper processes re-hashing ahead of the walk)"
        )
    print(
        f"  bare SHA-256 of the same bytes: {bare_rate:12,.0f} entries/s   "
        f"ratio {bare_rate / rate:.1f}x (one process)"
    )
    # The auditor's page: from the last checkpoint on, reading only the witness's tail.
    started = time.perf_counter()
    tail = verify_chain(
        sessionmaker(engine),
        public_key=key.public_key(),
        witness=workdir / "verify-witness.log",
        from_seq=result.head_seq,
        batch_size=batch_size,
    )
    partial = time.perf_counter() - started
    engine.dispose()
    assert tail.ok, tail
    print(
        f"  from the last checkpoint (the auditor's page): {tail.entries:,} entries in "
        f"{partial * 1e3:.1f} ms, {partial / elapsed[0] * 100:.2f}% of the whole walk"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries to verify")
    parser.add_argument("--appends", type=int, default=2000, help="appends to time")
    parser.add_argument("--requests", type=int, default=1000, help="audited requests to time")
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument(
        "--verify-workers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="helper processes for the second verify figure (0: one process only)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="btam-audit-bench-") as tmp:
        workdir = Path(tmp)
        bench_request(workdir, args.requests, args.checkpoint_every)
        bench_append(workdir, args.appends, args.checkpoint_every)
        bench_verify(
            workdir, args.entries, args.checkpoint_every, args.batch_size, args.verify_workers
        )


if __name__ == "__main__":
    main()
