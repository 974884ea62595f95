"""Several OS processes appending at once leave one valid chain with no gap and no fork, and
record a once-only event (a grant's review) exactly once."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import and_, select, text
from sqlalchemy.orm import sessionmaker

from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext
from btam.audit.events import AuditEvent
from btam.audit.models import AuditCheckpoint, AuditEntry
from btam.audit.signing import SignedCheckpoint, WitnessHead, parse_witness_line
from btam.audit.verify import verify_chain
from btam.audit.writer import AuditWriter
from btam.db import make_engine
from btam.schema import upgrade
from tests.support.postgres import fresh_database

PROCESSES = 4
APPENDS = 50
CHECKPOINT_EVERY = 7


def append_many(url: str, key_pem: bytes, witness: str, start: Barrier, worker: int) -> None:
    """One gunicorn worker's worth of appends, started at the same instant as the others."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    engine = make_engine(url, immediate=True)
    writer = AuditWriter(
        sessionmaker(engine),
        signing_key=key,
        checkpoint_every=CHECKPOINT_EVERY,
        witness=Path(witness),
    )
    ctx = AuditContext(
        actor_id=worker, actor_role="team_member", request_id=None, client_address=None
    )
    start.wait()
    for i in range(APPENDS):
        writer.append(
            ctx,
            action=AuditAction.AUDIT_TRAIL_VIEWED,
            outcome=Outcome.ALLOWED,
            object_type="case",
            object_id=f"{worker}-{i}",
        )
    engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("postgresql-repeatable-read", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.sqlite3'}"
        return
    with fresh_database("btam_audit_test") as url:
        if request.param == "postgresql-repeatable-read":
            # A DBA's stricter default must not make appends read a head older than the lock.
            engine = make_engine(url)
            with engine.begin() as conn:
                name = conn.execute(text("SELECT current_database()")).scalar_one()
                conn.execute(
                    text(
                        f'ALTER DATABASE "{name}" '
                        "SET default_transaction_isolation = 'repeatable read'"
                    )
                )
            engine.dispose()
        yield url


def test_processes_appending_at_once_leave_one_chain_without_gaps(
    store_url: str, tmp_path: Path
) -> None:
    engine = make_engine(store_url, immediate=True)
    upgrade(engine, "audit")
    key = Ed25519PrivateKey.generate()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    witness = tmp_path / "audit-witness.log"
    # spawn: fresh interpreters, like separate gunicorn workers, with no inherited connections.
    mp = multiprocessing.get_context("spawn")
    start = mp.Barrier(PROCESSES)
    workers = [
        mp.Process(target=append_many, args=(store_url, key_pem, str(witness), start, n + 1))
        for n in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=180)
    assert [p.exitcode for p in workers] == [0] * PROCESSES

    total = PROCESSES * APPENDS
    sessions = sessionmaker(engine)
    with sessions() as session:
        seqs = session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
        per_actor = [
            session.scalar(select(AuditEntry.seq).where(AuditEntry.actor_id == n).limit(1))
            for n in range(1, PROCESSES + 1)
        ]
        checkpoints = session.scalars(
            select(AuditCheckpoint.seq).order_by(AuditCheckpoint.id)
        ).all()
    assert seqs == list(range(1, total + 1))
    assert None not in per_actor
    assert checkpoints == list(range(CHECKPOINT_EVERY, total + 1, CHECKPOINT_EVERY))
    records = [parse_witness_line(line) for line in witness.read_text().splitlines()]
    assert sum(isinstance(r, SignedCheckpoint) for r in records) == len(checkpoints)
    # One head line per append, in commit order, each following the one before.
    heads = [r for r in records if isinstance(r, WitnessHead)]
    assert [h.seq for h in heads] == list(range(1, total + 1))
    result = verify_chain(sessions, public_key=key.public_key(), witness=witness)
    assert result.ok, result
    assert (result.entries, result.checkpoints) == (total, len(checkpoints))
    engine.dispose()


REVIEWERS = 6


def review_once(
    url: str, key_pem: bytes, witness: str, start: Barrier, answers: Queue[int | None], n: int
) -> None:
    """One auditor's worker recording the review of grant 1 unless one exists already."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    engine = make_engine(url, immediate=True)
    writer = AuditWriter(
        sessionmaker(engine), signing_key=key, checkpoint_every=0, witness=Path(witness)
    )
    ctx = AuditContext(actor_id=n, actor_role="auditor", request_id=None, client_address=None)
    start.wait()
    answers.put(
        writer.append_unless(
            ctx,
            AuditEvent(
                action=AuditAction.AUDIT_GRANT_REVIEWED,
                object_type="audit_entry",
                object_id=1,
                purpose="review:justified",
            ),
            exists=and_(
                AuditEntry.action == AuditAction.AUDIT_GRANT_REVIEWED.value,
                AuditEntry.object_id == "1",
            ),
        )
    )
    engine.dispose()


def test_processes_recording_a_once_only_event_at_once_record_it_once(
    store_url: str, tmp_path: Path
) -> None:
    engine = make_engine(store_url, immediate=True)
    upgrade(engine, "audit")
    key = Ed25519PrivateKey.generate()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    witness = tmp_path / "audit-witness.log"
    AuditWriter(sessionmaker(engine), signing_key=key, checkpoint_every=0, witness=witness).append(
        AuditContext.system(), action=AuditAction.ACCESS_EMERGENCY_GRANTED, outcome=Outcome.ALLOWED
    )
    mp = multiprocessing.get_context("spawn")
    start = mp.Barrier(REVIEWERS)
    answers = mp.Queue()
    workers = [
        mp.Process(
            target=review_once, args=(store_url, key_pem, str(witness), start, answers, n + 1)
        )
        for n in range(REVIEWERS)
    ]
    for process in workers:
        process.start()
    results = [answers.get(timeout=180) for _ in workers]
    for process in workers:
        process.join(timeout=180)
    assert [p.exitcode for p in workers] == [0] * REVIEWERS
    assert sorted(results, key=lambda r: r or 0) == [None] * (REVIEWERS - 1) + [2]
    sessions = sessionmaker(engine)
    with sessions() as session:
        reviews = session.scalars(
            select(AuditEntry.seq).where(AuditEntry.action == "audit:grant:reviewed")
        ).all()
    assert reviews == [2]
    assert verify_chain(sessions, public_key=key.public_key(), witness=witness).ok
    engine.dispose()
