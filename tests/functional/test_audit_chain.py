"""The audit chain on real stores: appends, checkpoints, and every kind of tampering caught.

Each test runs on a SQLite file and on a fresh PostgreSQL database (skipped locally when no
server is configured). Tampering is done the way an insider would: raw SQL after dropping
the append-only triggers, or edits to the witness file.
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext, InvalidAuditEntry
from btam.audit.events import AuditEvent, NotAppliedReason
from btam.audit.models import AuditCheckpoint, AuditEntry
from btam.audit.parallel import Helpers, SoundBatch
from btam.audit.signing import SignedCheckpoint, WitnessHead, parse_witness_line
from btam.audit.verify import VerifyResult, verify_chain
from btam.audit.writer import (
    GENESIS_HASH,
    AuditUnavailable,
    AuditWriter,
    compute_entry_hash,
)
from btam.db import make_engine
from btam.schema import upgrade
from tests.support.postgres import fresh_database

TABLES = ("audit_entries", "audit_checkpoints")
ACTIONS = list(AuditAction)


@dataclass
class Store:
    """One migrated audit store, its signing key and witness file, and an insider's tools."""

    engine: Engine
    sessions: sessionmaker[Session]
    key: Ed25519PrivateKey
    witness: Path

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def writer(self, *, checkpoint_every: int = 10, witness: Path | None = None) -> AuditWriter:
        return AuditWriter(
            self.sessions,
            signing_key=self.key,
            checkpoint_every=checkpoint_every,
            witness=witness or self.witness,
        )

    def verify(self, *, witness: bool = True, **kwargs: Any) -> VerifyResult:
        return verify_chain(
            self.sessions,
            public_key=self.key.public_key(),
            witness=self.witness if witness else None,
            **kwargs,
        )

    def drop_guards(self) -> None:
        with self.engine.begin() as conn:
            for table in TABLES:
                if self.dialect == "postgresql":
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))
                else:
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))

    def tamper(self, *statements: str, **params: Any) -> None:
        """Run raw SQL as a database administrator would, triggers out of the way."""
        self.drop_guards()
        with self.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement), params)

    def rows(self) -> list[dict[str, Any]]:
        with self.sessions() as session:
            return [dict(r._mapping) for r in session.execute(select(AuditEntry.__table__))]

    def rehash_from(self, seq: int) -> None:
        """Recompute every hash from ``seq`` on, as an attacker who knows the format can."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(AuditEntry.__table__).where(AuditEntry.seq >= seq - 1).order_by("seq")
            ).all()
            previous = rows[0].entry_hash if rows[0].seq == seq - 1 else GENESIS_HASH
            for row in rows:
                if row.seq < seq:
                    continue
                entry = {**row._mapping, "prev_hash": previous}
                digest = compute_entry_hash(entry)
                conn.execute(
                    text("UPDATE audit_entries SET prev_hash = :p, entry_hash = :h WHERE seq = :s"),
                    {"p": previous, "h": digest, "s": row.seq},
                )
                previous = digest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    else:
        with fresh_database("btam_audit_test") as url:
            yield url


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    engine = make_engine(store_url, immediate=True)
    upgrade(engine, "audit")
    yield Store(
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        key=Ed25519PrivateKey.generate(),
        witness=tmp_path / "audit-witness.log",
    )
    engine.dispose()


def ctx(i: int) -> AuditContext:
    return AuditContext(
        actor_id=i % 5 + 1,
        actor_role="team_member",
        request_id=f"req-{i}",
        client_address=f"10.0.{i % 7}.{i % 250 + 1}",
    )


def fill(writer: AuditWriter, count: int, *, start: int = 0) -> list[int]:
    return [
        writer.append(
            ctx(i),
            action=ACTIONS[i % len(ACTIONS)],
            outcome=list(Outcome)[i % 3],
            object_type="case",
            object_id=f"2025-{i:04d}",
            case_id=i + 1,
            school_id=i % 3 + 1,
            purpose="threat assessment (FERPA 99.31(a)(1))",
        )
        for i in range(start, start + count)
    ]


@pytest.fixture
def trail(store: Store) -> Store:
    """25 entries, checkpoints at 10 and 20, witness file beside them."""
    fill(store.writer(), 25)
    return store


def witness_records(store: Store) -> list[SignedCheckpoint | WitnessHead]:
    return [parse_witness_line(line) for line in store.witness.read_text().splitlines()]


def assert_caught(result: VerifyResult, seq: int | None, *words: str) -> None:
    assert not result.ok, result
    assert result.first_bad_seq == seq, result
    for word in words:
        assert word in result.reason, result


# --- appending --------------------------------------------------------------------------


def test_appends_are_numbered_without_gaps_and_chained(store: Store) -> None:
    assert fill(store.writer(), 25) == list(range(1, 26))
    rows = sorted(store.rows(), key=lambda r: r["seq"])
    assert rows[0]["prev_hash"] == GENESIS_HASH
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["entry_hash"]
    for row in rows:
        assert row["entry_hash"] == compute_entry_hash(row)
        assert row["at"].utcoffset().total_seconds() == 0
    result = store.verify()
    assert (result.ok, result.entries, result.checkpoints, result.first_bad_seq) == (
        True,
        25,
        2,
        None,
    )
    assert result.reason == "25 entries and 2 checkpoints verified"
    assert (result.head_seq, result.last_checkpoint_seq, result.witnessed_seq) == (25, 20, 25)
    assert result.unsealed_entries == 5
    assert result.unsealed_since == rows[20]["at"]
    assert (result.anchor_id, result.anchor_seq) == (None, None)


def test_every_nth_entry_is_sealed_in_the_store_and_the_witness(store: Store) -> None:
    fill(store.writer(checkpoint_every=4), 13)
    with store.sessions() as session:
        sealed = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
        assert [(c.id, c.seq) for c in sealed] == [(1, 4), (2, 8), (3, 12)]
        hashes = {
            seq: h for seq, h in session.execute(select(AuditEntry.seq, AuditEntry.entry_hash))
        }
    records = witness_records(store)
    lines = [r for r in records if isinstance(r, SignedCheckpoint)]
    assert [(c.seq, c.entry_hash) for c in lines] == [(c.seq, hashes[c.seq]) for c in sealed]
    assert all(c.signature_valid(store.key.public_key()) for c in lines)
    # Every append's head went to the witness before it was committed, each checkpoint
    # right after the head it seals.
    heads = [r for r in records if isinstance(r, WitnessHead)]
    assert [(h.seq, h.entry_hash) for h in heads] == sorted(hashes.items())
    assert [h.after for h in heads] == [GENESIS_HASH, *(h.entry_hash for h in heads[:-1])]
    positions = {id(r): n for n, r in enumerate(records)}
    for checkpoint in lines:
        head = next(h for h in heads if h.seq == checkpoint.seq)
        assert positions[id(checkpoint)] == positions[id(head)] + 1


def test_checkpoint_on_demand_records_who_sealed_the_head(store: Store) -> None:
    writer = store.writer(checkpoint_every=0)
    assert writer.checkpoint() is None  # nothing to seal yet
    fill(writer, 3)
    sealed = writer.checkpoint(AuditContext.system())
    assert sealed is not None and (sealed.id, sealed.seq) == (1, 4)
    last = max(store.rows(), key=lambda r: r["seq"])
    assert (last["action"], last["actor_role"]) == ("audit:checkpoint:signed", "system")
    assert writer.checkpoint() == sealed  # already sealed: nothing new, no new witness line
    assert [r for r in witness_records(store) if isinstance(r, SignedCheckpoint)] == [sealed]
    assert store.verify().ok


def test_appends_store_only_ids_and_normalised_context(store: Store) -> None:
    writer = store.writer()
    writer.append(
        AuditContext.anonymous("tip-1"),
        action=AuditAction.ACCESS_ROUTE_DENIED,
        outcome=Outcome.DENIED,
    )
    writer.append(
        AuditContext(
            actor_id=9, actor_role="auditor", request_id=None, client_address="::ffff:192.0.2.4"
        ),
        action=AuditAction.AUDIT_TRAIL_VIEWED,
        outcome=Outcome.ALLOWED,
        object_id=42,
    )
    first, second = sorted(store.rows(), key=lambda r: r["seq"])
    assert (first["actor_id"], first["actor_role"], first["client_address"]) == (
        None,
        "anonymous",
        None,
    )
    assert (second["client_address"], second["object_id"]) == ("192.0.2.4", "42")


def test_a_unit_of_works_entries_are_appended_together_with_one_head(store: Store) -> None:
    writer = store.writer(checkpoint_every=0)
    fill(writer, 2)
    events = [
        AuditEvent(AuditAction.CASE_NOTE_ADDED, object_type="note", object_id=9, case_id=3),
        AuditEvent(AuditAction.CASE_ATTACHMENT_ADDED, object_type="attachment", object_id=4),
        AuditEvent(AuditAction.ACCESS_RECORD_DENIED, Outcome.DENIED, object_type="case"),
    ]
    assert writer.append_all(ctx(1), events) == [3, 4, 5]
    assert writer.append_all(ctx(1), []) == []
    rows = sorted(store.rows(), key=lambda r: r["seq"])
    assert [(r["action"], r["outcome"]) for r in rows[2:]] == [
        ("case:note:added", "allowed"),
        ("case:attachment:added", "allowed"),
        ("access:record:denied", "denied"),
    ]
    assert len({r["at"] for r in rows[2:]}) == 1  # one unit of work, one instant
    heads = [r for r in witness_records(store) if isinstance(r, WitnessHead)]
    assert [(h.seq, h.after) for h in heads] == [
        (1, GENESIS_HASH),
        (2, rows[0]["entry_hash"]),
        (5, rows[1]["entry_hash"]),  # the committed head only, after the one before
    ]
    assert store.verify().ok


def test_a_unit_of_works_entries_are_all_refused_when_one_is_not_allowed(store: Store) -> None:
    writer = store.writer()
    with pytest.raises(InvalidAuditEntry):
        writer.append_all(
            ctx(1),
            [
                AuditEvent(AuditAction.CASE_NOTE_ADDED, object_type="note", object_id=1),
                AuditEvent(AuditAction.CASE_NOTE_ADDED, object_type="note", object_id="Jane Doe"),
            ],
        )
    assert store.rows() == [] and not store.witness.exists()


def test_a_unit_of_works_entries_are_all_lost_when_the_commit_fails(store: Store) -> None:
    writer = store.writer(checkpoint_every=0)

    def refuse(_connection: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    event.listen(store.engine, "commit", refuse)
    try:
        with pytest.raises(AuditUnavailable):
            writer.append_all(ctx(1), [AuditEvent(AuditAction.CASE_NOTE_ADDED)] * 3)
    finally:
        event.remove(store.engine, "commit", refuse)
    assert store.rows() == []


def test_changes_that_did_not_happen_are_marked_entry_by_entry(store: Store) -> None:
    writer = store.writer()
    seqs = writer.append_all(
        ctx(1),
        [
            AuditEvent(
                AuditAction.INTAKE_TIP_MESSAGE_ADDED,
                object_type="report",
                object_id=5,
                case_id=8,
                school_id=2,
            ),
            AuditEvent(AuditAction.CASE_NOTE_ADDED, object_type="note", object_id=6, case_id=8),
        ],
    )
    markers = writer.mark_not_applied(ctx(1), seqs, NotAppliedReason.CASE_STORE_COMMIT_FAILED)
    assert markers == [3, 4]
    rows = {r["seq"]: r for r in store.rows()}
    assert [
        (
            rows[m]["action"],
            rows[m]["outcome"],
            rows[m]["object_type"],
            rows[m]["object_id"],
            rows[m]["case_id"],
            rows[m]["school_id"],
            rows[m]["purpose"],
        )
        for m in markers
    ] == [
        ("audit:change:not_applied", "error", "audit_entry", "1", 8, 2, "case store commit failed"),
        (
            "audit:change:not_applied",
            "error",
            "audit_entry",
            "2",
            8,
            None,
            "case store commit failed",
        ),
    ]
    with pytest.raises(InvalidAuditEntry, match="does not exist"):
        writer.mark_not_applied(ctx(1), [2, 99], NotAppliedReason.CASE_STORE_COMMIT_FAILED)
    with pytest.raises(InvalidAuditEntry, match="fixed reasons"):
        writer.mark_not_applied(ctx(1), [1], "it broke")  # type: ignore[arg-type]
    assert len(store.rows()) == 4
    assert store.verify().ok


def test_append_unless_records_a_once_only_event_once(store: Store) -> None:
    writer = store.writer()
    review = AuditEvent(AuditAction.AUDIT_GRANT_REVIEWED, object_type="audit_entry", object_id=1)
    reviewed = AuditEntry.action == "audit:grant:reviewed"
    assert writer.append_unless(ctx(1), review, exists=reviewed) == 1
    assert writer.append_unless(ctx(2), review, exists=reviewed) is None
    assert [r["seq"] for r in store.rows()] == [1]


# --- tampering with entries -------------------------------------------------------------


def test_edited_entry_is_caught_at_its_seq(trail: Store) -> None:
    trail.tamper("UPDATE audit_entries SET actor_id = 99 WHERE seq = 7")
    assert_caught(trail.verify(), 7, "altered")


def test_edited_entry_with_its_own_hash_recomputed_breaks_the_next_link(trail: Store) -> None:
    trail.tamper(
        "UPDATE audit_entries SET outcome = 'allowed', action = 'auth:session:signed_out' "
        "WHERE seq = 7"
    )
    row = next(r for r in trail.rows() if r["seq"] == 7)
    trail.tamper(
        "UPDATE audit_entries SET entry_hash = :h WHERE seq = 7", h=compute_entry_hash(row)
    )
    assert_caught(trail.verify(witness=False), 8, "does not follow entry 7")
    assert_caught(trail.verify(), 7, "differs from what the witness saw")


def test_history_rewritten_with_every_hash_recomputed_is_caught_by_the_checkpoint(
    trail: Store,
) -> None:
    trail.tamper("UPDATE audit_entries SET actor_id = 1 WHERE seq = 5")
    trail.rehash_from(5)
    assert_caught(trail.verify(witness=False), 10, "checkpoint #1")


def test_deleted_entry_is_caught_as_a_gap(trail: Store) -> None:
    trail.tamper("DELETE FROM audit_entries WHERE seq = 12")
    assert_caught(trail.verify(), 12, "entry 12 is missing")


def test_deleted_entry_with_later_entries_renumbered_is_caught(trail: Store) -> None:
    trail.tamper(
        "DELETE FROM audit_entries WHERE seq = 12",
        "UPDATE audit_entries SET seq = -seq WHERE seq > 12",
        "UPDATE audit_entries SET seq = -seq - 1 WHERE seq < 0",
    )
    assert_caught(trail.verify(), 12, "does not follow entry 11")


def test_inserted_entry_is_caught(trail: Store) -> None:
    rows = {r["seq"]: r for r in trail.rows()}
    forged = {**rows[5], "seq": 5, "actor_id": 3, "prev_hash": rows[4]["entry_hash"]}
    forged["entry_hash"] = compute_entry_hash(forged)
    trail.tamper(
        "UPDATE audit_entries SET seq = -seq WHERE seq >= 5",
        "UPDATE audit_entries SET seq = -seq + 1 WHERE seq < 0",
    )
    with trail.engine.begin() as conn:
        conn.execute(AuditEntry.__table__.insert(), [forged])
    assert_caught(trail.verify(witness=False), 6, "entry 6")
    assert_caught(trail.verify(), 5, "differs from what the witness saw")


def test_inserted_entry_with_every_later_hash_recomputed_is_caught_by_the_checkpoint(
    trail: Store,
) -> None:
    rows = {r["seq"]: r for r in trail.rows()}
    forged = {**rows[5], "seq": 5, "actor_id": 3, "prev_hash": rows[4]["entry_hash"]}
    trail.tamper(
        "UPDATE audit_entries SET seq = -seq WHERE seq >= 5",
        "UPDATE audit_entries SET seq = -seq + 1 WHERE seq < 0",
    )
    with trail.engine.begin() as conn:
        conn.execute(AuditEntry.__table__.insert(), [{**forged, "entry_hash": "0" * 64}])
    trail.rehash_from(5)
    assert_caught(trail.verify(witness=False), 10, "checkpoint #1")


def test_two_entries_swapped_are_caught(trail: Store) -> None:
    trail.tamper(
        "UPDATE audit_entries SET seq = -seq WHERE seq IN (3, 4)",
        "UPDATE audit_entries SET seq = 4 WHERE seq = -3",
        "UPDATE audit_entries SET seq = 3 WHERE seq = -4",
    )
    assert_caught(trail.verify(), 3, "entry 3")


def test_fields_swapped_between_two_entries_are_caught(trail: Store) -> None:
    rows = {r["seq"]: r for r in trail.rows()}
    trail.tamper(
        "UPDATE audit_entries SET actor_id = :a4, at = :t4 WHERE seq = 3",
        "UPDATE audit_entries SET actor_id = :a3, at = :t3 WHERE seq = 4",
        a3=rows[3]["actor_id"],
        a4=rows[4]["actor_id"],
        t3=rows[3]["at"],
        t4=rows[4]["at"],
    )
    assert_caught(trail.verify(), 3, "altered")


@pytest.mark.parametrize("column", ["purpose", "action", "at", "actor_id", "prev_hash"])
def test_an_entry_value_turned_into_a_blob_is_caught(trail: Store, column: str) -> None:
    if trail.dialect != "sqlite":
        pytest.skip("PostgreSQL keeps no blob in a column of another type")
    # The very same bytes, stored as a blob: an ORM read would return bytes, no entry's value.
    trail.tamper(
        f"UPDATE audit_entries SET {column} = CAST({column} AS BLOB) WHERE seq = 7"  # noqa: S608  (a column name above)
    )
    assert_caught(trail.verify(), 7, "entry 7")


# --- truncation -------------------------------------------------------------------------


def test_truncation_after_a_checkpoint_is_caught(trail: Store) -> None:
    trail.tamper("DELETE FROM audit_entries WHERE seq > 14")
    assert_caught(trail.verify(witness=False), 15, "after seq 14 were removed")


def test_truncation_with_its_checkpoints_is_caught_by_the_witness(trail: Store) -> None:
    trail.tamper(
        "DELETE FROM audit_entries WHERE seq > 14",
        "DELETE FROM audit_checkpoints WHERE seq > 14",
    )
    assert_caught(trail.verify(), 15, "in the witness file but not in the database")
    # Without the witness only the chain is left, and it is consistent: this is why the
    # witness must live outside the database administrator's reach.
    assert trail.verify(witness=False).ok


def test_everything_deleted_is_caught_by_the_witness(trail: Store) -> None:
    trail.tamper("DELETE FROM audit_entries", "DELETE FROM audit_checkpoints")
    assert_caught(trail.verify(), 1, "witness")


def test_a_checkpoint_sealing_a_different_head_is_caught(trail: Store) -> None:
    # The tail after seq 20 replaced by different entries: the chain itself is consistent.
    trail.tamper("DELETE FROM audit_entries WHERE seq > 19")
    fill(trail.writer(checkpoint_every=0), 6, start=100)
    assert_caught(trail.verify(witness=False), 20, "checkpoint #2")


# --- the witness learns every committed head: no unsealed tail ---------------------------


def test_truncating_the_last_entry_is_caught_with_the_witness_intact(trail: Store) -> None:
    """The acceptance test: the newest entry, sealed by no checkpoint yet, is cut."""
    trail.tamper("DELETE FROM audit_entries WHERE seq = 25")
    assert_caught(trail.verify(), 25, "entries after seq 24 were removed", "witness saw entry 25")


def test_truncating_every_entry_after_the_last_checkpoint_is_caught(trail: Store) -> None:
    trail.tamper("DELETE FROM audit_entries WHERE seq > 20")
    assert_caught(trail.verify(), 21, "entries after seq 20 were removed")


@pytest.mark.parametrize("seq", [21, 23, 25])
def test_rewriting_an_unsealed_entry_with_every_hash_recomputed_is_caught(
    trail: Store, seq: int
) -> None:
    trail.tamper("UPDATE audit_entries SET actor_id = 1, outcome = 'allowed' WHERE seq = :s", s=seq)
    trail.rehash_from(seq)
    assert trail.verify(witness=False).ok  # the chain alone is consistent again
    assert_caught(trail.verify(), seq, f"entry {seq} differs from what the witness saw")


def test_entries_appended_behind_the_writers_back_are_caught(trail: Store) -> None:
    rows = {r["seq"]: r for r in trail.rows()}
    previous = rows[25]["entry_hash"]
    with trail.engine.begin() as conn:
        for seq in (26, 27):
            forged = {**rows[25], "seq": seq, "actor_id": 4, "prev_hash": previous}
            previous = forged["entry_hash"] = compute_entry_hash(forged)
            conn.execute(AuditEntry.__table__.insert(), [forged])
    assert trail.verify(witness=False).ok
    assert_caught(trail.verify(), 26, "entries 26-27 were never seen by the witness")


def test_entries_slipped_in_before_a_later_append_are_caught(trail: Store) -> None:
    rows = {r["seq"]: r for r in trail.rows()}
    forged = {**rows[25], "seq": 26, "actor_id": 4, "prev_hash": rows[25]["entry_hash"]}
    forged["entry_hash"] = compute_entry_hash(forged)
    with trail.engine.begin() as conn:
        conn.execute(AuditEntry.__table__.insert(), [forged])
    # The application appends on top of the forged entry, and the witness learns that head.
    fill(trail.writer(checkpoint_every=0), 2, start=900)
    assert trail.verify(witness=False).ok
    assert_caught(trail.verify(), 26, "does not follow", "added behind the witness's back")


def test_deleting_the_last_checkpoint_rows_is_caught_with_the_witness_beside_the_store(
    trail: Store,
) -> None:
    assert trail.witness.parent == Path(str(trail.engine.url.database)).parent or (
        trail.dialect == "postgresql"
    )
    trail.tamper("DELETE FROM audit_checkpoints WHERE id = 2")
    assert_caught(trail.verify(), 20, "in the witness file but not in the database")
    trail.tamper("DELETE FROM audit_entries WHERE seq > 19")
    assert_caught(trail.verify(), 20, "removed")


def test_a_witness_written_before_head_lines_still_verifies(store: Store) -> None:
    fill(store.writer(), 25)
    # What the writer used to leave: checkpoint lines only.
    old = [line for line in store.witness.read_text().splitlines(True) if '"signature"' in line]
    store.witness.write_text("".join(old))
    result = store.verify()
    assert result.ok and result.checkpoints == 2 and result.witnessed_seq is None
    fill(store.writer(), 3, start=25)  # the upgraded writer starts pinning heads
    result = store.verify()
    assert result.ok and (result.witnessed_seq, result.head_seq) == (28, 28)
    result = store.verify(from_seq=27)  # anchored at checkpoint #2, written without heads
    assert result.ok and result.anchor_seq == 20
    store.tamper("DELETE FROM audit_entries WHERE seq = 28")
    assert_caught(store.verify(), 28, "removed")


def test_a_failed_commit_after_the_witness_line_is_reported_not_hidden(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    writer = store.writer(checkpoint_every=0)
    fill(writer, 3)

    def refuse(_connection: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    event.listen(store.engine, "commit", refuse)
    try:
        with caplog.at_level(logging.ERROR), pytest.raises(AuditUnavailable):
            fill(writer, 1, start=3)
    finally:
        event.remove(store.engine, "commit", refuse)
    assert "after the witness saw seq 4" in caplog.text
    assert len(store.rows()) == 3
    # The witness holds a head the store never committed: verify says so (a false alarm
    # is the safe failure), and the log above tells the operator why.
    assert_caught(store.verify(), 4, "removed")
    fill(writer, 1, start=4)
    assert_caught(store.verify(), 4, "its commit failed")


def test_checkpoints_are_signed_every_few_minutes_while_entries_arrive(store: Store) -> None:
    now = [datetime(2026, 3, 2, 8, 0, tzinfo=UTC)]
    writer = AuditWriter(
        store.sessions,
        signing_key=store.key,
        checkpoint_every=1000,
        checkpoint_minutes=5,
        witness=store.witness,
        clock=lambda: now[0],
    )
    for minute in (0, 1, 4, 5, 6, 9, 30, 31):
        now[0] = datetime(2026, 3, 2, 8, minute, tzinfo=UTC)
        fill(writer, 1, start=minute)
    with store.sessions() as session:
        sealed = session.execute(
            select(AuditCheckpoint.seq, AuditCheckpoint.signed_at).order_by(AuditCheckpoint.id)
        ).all()
    # The first entry is sealed at once; then whenever 5 minutes have passed since the last.
    assert [(seq, at.minute) for seq, at in sealed] == [(1, 0), (4, 5), (7, 30)]
    result = store.verify()
    assert result.ok and result.unsealed_entries == 1
    assert result.unsealed_since == datetime(2026, 3, 2, 8, 31, tzinfo=UTC)


def test_an_entry_count_still_bounds_the_tail(store: Store) -> None:
    writer = AuditWriter(
        store.sessions,
        signing_key=store.key,
        checkpoint_every=4,
        checkpoint_minutes=60,
        witness=store.witness,
    )
    fill(writer, 10)
    with store.sessions() as session:
        assert session.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.id)).all() == [
            1,
            5,
            9,
        ]


# --- tampering with checkpoints and the witness -----------------------------------------


def test_forged_checkpoint_signature_is_caught(trail: Store) -> None:
    trail.tamper("UPDATE audit_checkpoints SET signature = :s WHERE id = 2", s="ab" * 64)
    assert_caught(trail.verify(witness=False), 20, "bad signature")
    assert_caught(trail.verify(), 20, "disagree")


def test_checkpoint_resigned_with_another_key_is_caught(trail: Store) -> None:
    trail.tamper("UPDATE audit_entries SET actor_id = 1 WHERE seq = 15")
    trail.rehash_from(15)
    rogue = Ed25519PrivateKey.generate()
    head = {r["seq"]: r["entry_hash"] for r in trail.rows()}[20]
    with trail.sessions() as session:
        signed_at = session.get(AuditCheckpoint, 2).signed_at  # type: ignore[union-attr]
    forged = SignedCheckpoint.sign(rogue, id=2, seq=20, entry_hash=head, signed_at=signed_at)
    trail.tamper(
        "UPDATE audit_checkpoints SET entry_hash = :h, key_id = :k, signature = :s WHERE id = 2",
        h=forged.entry_hash,
        k=forged.key_id,
        s=forged.signature,
    )
    assert_caught(trail.verify(witness=False), 20, "another key")
    # Claiming our key id does not help either.
    trail.tamper(
        "UPDATE audit_checkpoints SET key_id = :k WHERE id = 2",
        k=SignedCheckpoint.sign(
            trail.key, id=2, seq=1, entry_hash=head, signed_at=signed_at
        ).key_id,
    )
    assert_caught(trail.verify(witness=False), 20, "bad signature")


def test_deleted_checkpoint_is_caught_with_or_without_the_witness(trail: Store) -> None:
    trail.tamper("DELETE FROM audit_checkpoints WHERE id = 1")
    assert_caught(trail.verify(witness=False), 20, "checkpoint #1 is missing")
    assert_caught(trail.verify(), 10, "disagree")


def test_altered_witness_line_is_caught(trail: Store) -> None:
    lines = trail.witness.read_text().splitlines(keepends=True)
    second = [n for n, line in enumerate(lines) if '"signature"' in line][1]
    lines[second] = lines[second].replace('"seq":20', '"seq":19')
    trail.witness.write_text("".join(lines))
    assert_caught(trail.verify(), 19, "disagree")


def test_removed_witness_checkpoint_line_is_caught(trail: Store) -> None:
    lines = trail.witness.read_text().splitlines(keepends=True)
    second = [n for n, line in enumerate(lines) if '"signature"' in line][1]
    trail.witness.write_text("".join(lines[:second] + lines[second + 1 :]))
    assert_caught(trail.verify(), 20, "missing from the witness file")


def test_removed_witness_head_line_is_caught(trail: Store) -> None:
    lines = trail.witness.read_text().splitlines(keepends=True)
    gone = next(n for n, line in enumerate(lines) if '"seq":14}' in line and '"after"' in line)
    trail.witness.write_text("".join(lines[:gone] + lines[gone + 1 :]))
    assert_caught(trail.verify(), 14, "does not follow", "a witness line is missing")


def test_removed_witness_file_is_caught(trail: Store) -> None:
    trail.witness.unlink()
    assert_caught(trail.verify(), 10, "missing from the witness file")


def test_garbage_in_the_witness_is_caught(trail: Store) -> None:
    with trail.witness.open("a") as fh:
        fh.write("checkpoint 3 trust me\n")
    result = trail.verify()
    assert not result.ok and "witness line 28" in result.reason  # 25 heads, 2 checkpoints


# Lines of about 170 bytes read by blocks of 64 or 250 bytes: every line is cut somewhere.
small_blocks = pytest.mark.parametrize("block", [64, 250, 1 << 20])


@small_blocks
def test_the_witness_reads_the_same_however_it_is_cut_into_blocks(
    trail: Store, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("btam.audit.verify._READ_BLOCK", block)
    result = trail.verify()
    assert result.ok and (result.witnessed_seq, result.checkpoints) == (25, 2)
    lines = trail.witness.read_text().splitlines(keepends=True)
    gone = next(n for n, line in enumerate(lines) if '"seq":14}' in line and '"after"' in line)
    trail.witness.write_text("".join([*lines[:gone], "\n", *lines[gone + 1 :]]))
    assert_caught(trail.verify(), None, f"witness line {gone + 1} is not a witness record")


@small_blocks
def test_a_torn_last_witness_line_is_caught(
    trail: Store, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("btam.audit.verify._READ_BLOCK", block)
    text_now = trail.witness.read_text()
    trail.witness.write_text(text_now[:-1])  # the last head line loses its newline
    assert_caught(trail.verify(), None, "witness line 27 is not a witness record")


def test_a_witness_line_in_another_json_spelling_reads_as_the_writers(trail: Store) -> None:
    lines = trail.witness.read_text().splitlines(keepends=True)
    for n, line in enumerate(lines):
        record = json.loads(line)
        if record.get("seq") in (14, 20):  # a head line, and checkpoint #2 with its head
            lines[n] = json.dumps(dict(reversed(record.items())), indent=None) + "\n"
    trail.witness.write_text("".join(lines))
    result = trail.verify()
    assert result.ok and (result.witnessed_seq, result.checkpoints) == (25, 2)


def _drop_witness_head_line(store: Store) -> None:
    lines = store.witness.read_text().splitlines(keepends=True)
    gone = next(n for n, line in enumerate(lines) if '"seq":14}' in line and '"after"' in line)
    store.witness.write_text("".join(lines[:gone] + lines[gone + 1 :]))


def _append_twice_in_one_commit(store: Store) -> None:
    store.writer().append_all(ctx(30), [AuditEvent(action=AuditAction.AUDIT_TRAIL_VIEWED)] * 2)


TAMPERINGS = {
    "none": lambda store: None,
    "multi-entry commits": _append_twice_in_one_commit,
    "edited entry": lambda store: store.tamper(
        "UPDATE audit_entries SET actor_id = 99 WHERE seq = 7"
    ),
    "edited last entry of a batch": lambda store: store.tamper(
        "UPDATE audit_entries SET actor_id = 99 WHERE seq = 8"
    ),
    "stored hash rewritten": lambda store: store.tamper(
        "UPDATE audit_entries SET entry_hash = :h WHERE seq = 6", h="ab" * 32
    ),
    "deleted entry": lambda store: store.tamper("DELETE FROM audit_entries WHERE seq = 12"),
    "rehashed history": lambda store: (
        store.tamper("UPDATE audit_entries SET actor_id = 1 WHERE seq = 5"),
        store.rehash_from(5),
    ),
    "forged checkpoint": lambda store: store.tamper(
        "UPDATE audit_checkpoints SET signature = :s WHERE id = 2", s="ab" * 64
    ),
    "witness head line removed": _drop_witness_head_line,
    "truncated": lambda store: store.tamper("DELETE FROM audit_entries WHERE seq > 22"),
}


@pytest.mark.parametrize("tampering", TAMPERINGS.values(), ids=TAMPERINGS)
def test_the_walk_finds_the_same_whatever_its_batches(trail: Store, tampering: Any) -> None:
    # Batches free of faults are checked as a whole; one entry per batch checks entry by entry.
    tampering(trail)
    one_by_one = trail.verify(batch_size=1)
    for size in (4, 10, 5000):
        assert trail.verify(batch_size=size) == one_by_one, size
        assert trail.verify(batch_size=size, witness=False) == trail.verify(
            batch_size=1, witness=False
        )


@pytest.mark.parametrize("tampering", TAMPERINGS.values(), ids=TAMPERINGS)
def test_helper_processes_find_the_same_as_the_walk_alone(
    trail: Store, tampering: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every batch through the helpers, however short the trail.
    monkeypatch.setattr("btam.audit.verify.HELPERS_FROM", 0)
    monkeypatch.setattr("btam.audit.parallel._WALK_TAKES_UNCLAIMED", False)
    taken: list[SoundBatch | None] = []
    take = Helpers.take
    monkeypatch.setattr(Helpers, "take", lambda self, after: _kept(taken, take(self, after)))
    assert threading.active_count() == 1  # helpers are forked only from a single thread
    tampering(trail)
    for witness in (True, False):
        alone = trail.verify(batch_size=1, witness=witness)
        assert trail.verify(batch_size=4, workers=2, witness=witness) == alone
    assert any(batch is not None for batch in taken)  # the helpers' batches were taken


def _kept(kept: list[SoundBatch | None], batch: SoundBatch | None) -> SoundBatch | None:
    kept.append(batch)
    return batch


# --- partial verification and progress --------------------------------------------------


def test_verify_from_a_seq_starts_at_the_checkpoint_before_it(trail: Store) -> None:
    result = trail.verify(from_seq=23)
    assert result.ok and result.entries == 5  # from 21, vouched for by checkpoint #2 at 20
    assert result.checkpoints == 2
    assert trail.verify(from_seq=21).entries == 5
    assert trail.verify(from_seq=26).entries == 5  # one past the head: nothing new, still sealed
    assert trail.verify(from_seq=5).entries == 25  # no checkpoint before 5: from the genesis


def test_verify_from_a_seq_skips_earlier_entries_but_not_later_ones(trail: Store) -> None:
    trail.tamper("UPDATE audit_entries SET actor_id = 99 WHERE seq = 22")
    assert_caught(trail.verify(from_seq=24), 22, "altered")


def test_verify_from_a_seq_does_not_trust_a_forged_anchor(trail: Store) -> None:
    trail.tamper(
        "UPDATE audit_entries SET actor_id = 99 WHERE seq = 3",
        "UPDATE audit_checkpoints SET signature = :s WHERE id IN (1, 2)",
        s="00" * 64,
    )
    assert_caught(trail.verify(from_seq=24, witness=False), 3, "altered")


def test_verify_from_a_seq_reads_the_witness_only_after_its_anchor(trail: Store) -> None:
    lines = trail.witness.read_text().splitlines(keepends=True)
    early = next(n for n, line in enumerate(lines) if '"seq":3}' in line)
    head = parse_witness_line(lines[early])
    assert isinstance(head, WitnessHead)
    lines[early] = WitnessHead(head.seq, "f" * 64, head.after).witness_line()
    trail.witness.write_text("".join(lines))
    assert_caught(trail.verify(), 3, "differs from what the witness saw")  # reads every line
    result = trail.verify(from_seq=23)  # the auditor's page: from the last checkpoint on
    assert result.ok and (result.anchor_id, result.anchor_seq) == (2, 20)
    trail.tamper("DELETE FROM audit_entries WHERE seq = 25")
    assert_caught(trail.verify(from_seq=23), 25, "removed", "witness saw entry 25")


def test_verify_from_reads_the_whole_witness_when_the_anchor_line_is_not_there(
    trail: Store,
) -> None:
    lines = trail.witness.read_text().splitlines(keepends=True)
    second = [n for n, line in enumerate(lines) if '"signature"' in line][1]
    lines[second] = lines[second].replace('"id":2', '"id":9')
    trail.witness.write_text("".join(lines))
    assert_caught(trail.verify(from_seq=23), 20, "disagree about checkpoint #2")


def test_verify_from_beyond_the_head_is_refused(trail: Store) -> None:
    with pytest.raises(ValueError, match="beyond the last entry"):
        trail.verify(from_seq=27)


def test_progress_is_reported_per_batch_up_to_the_total(trail: Store) -> None:
    calls: list[tuple[int, int]] = []
    assert trail.verify(progress=lambda done, total: calls.append((done, total)), batch_size=7).ok
    assert calls == [(7, 25), (14, 25), (21, 25), (25, 25)]


def test_appends_while_verifying_are_not_mistaken_for_tampering(trail: Store) -> None:
    writer = trail.writer(checkpoint_every=3)
    result = trail.verify(progress=lambda _d, _t: fill(writer, 2, start=500), batch_size=4)
    assert result.ok and result.head_seq == 25
    assert trail.verify().ok


def test_empty_store_verifies(store: Store) -> None:
    result = store.verify()
    assert (result.ok, result.entries, result.head_seq) == (True, 0, 0)


# --- failing closed ---------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///{tmp}/no/such/dir/audit.sqlite3",
        "sqlite:///{tmp}/unmigrated.sqlite3",
        "postgresql+psycopg://btam@127.0.0.1:{port}/btam_audit?connect_timeout=5",
    ],
    ids=["sqlite-missing-directory", "sqlite-not-migrated", "postgresql-closed-port"],
)
def test_writer_fails_closed_when_the_store_is_unreachable(
    url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(url.format(tmp=tmp_path, port=_closed_port()), immediate=True)
    sessions = sessionmaker(engine)
    writer = AuditWriter(
        sessions, signing_key=Ed25519PrivateKey.generate(), checkpoint_every=1, witness=None
    )
    with caplog.at_level(logging.ERROR), pytest.raises(AuditUnavailable) as info:
        writer.append(
            ctx(1),
            action=AuditAction.AUTH_LOGIN_SUCCESS,
            outcome=Outcome.ALLOWED,
            object_id="marker-4711",
            purpose="marker purpose 0815",
        )
    assert "marker" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "marker" not in caplog.text
    assert "refused an append" in caplog.text
    with pytest.raises(AuditUnavailable):
        writer.checkpoint(AuditContext.system())
    with pytest.raises(AuditUnavailable):
        verify_chain(sessions, public_key=Ed25519PrivateKey.generate().public_key(), witness=None)
    engine.dispose()


def test_unwritable_witness_refuses_every_append(store: Store, tmp_path: Path) -> None:
    fill(store.writer(checkpoint_every=3), 2)
    writer = store.writer(checkpoint_every=3, witness=tmp_path / "gone" / "witness.log")
    for start in (2, 3):
        with pytest.raises(AuditUnavailable):
            fill(writer, 1, start=start)
    assert len(store.rows()) == 2  # no entry the witness could not learn was kept
    assert store.verify().ok


def test_sealing_an_already_sealed_head_adds_no_checkpoint(store: Store) -> None:
    writer = store.writer(checkpoint_every=5)
    fill(writer, 5)
    assert writer.checkpoint() is not None
    fill(writer, 5, start=5)
    with store.sessions() as session:
        assert session.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.id)).all() == [
            5,
            10,
        ]
    result = store.verify()
    assert result.ok and result.checkpoints == 2
