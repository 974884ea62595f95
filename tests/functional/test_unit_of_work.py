"""The unit of work: audit entries first, then the case store; a trail that tells the truth.

When the case store refuses a commit after the entries were appended, the trail gets a
marker saying the change did not happen, and the case store keeps no trace of it; when the
audit store refuses, nothing changes at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import func, select

from btam.access.record_classes import RecordClass
from btam.audit.actions import AuditAction, Outcome
from btam.audit.applied import AppliedChange, applied_seqs
from btam.audit.models import AuditEntry
from btam.audit.reconcile import reconcile
from btam.cases.models import Note
from btam.cases.services import records
from btam.context import carry_out
from tests.support.cases import acting_as, seed_cases
from tests.support.outage import worker_with
from tests.support.personas import World


def _head(app: Flask) -> int:
    with app.extensions["btam"].stores.audit_sessions() as db:
        return int(db.scalar(select(func.max(AuditEntry.seq))) or 0)


def _notes(app: Flask) -> int:
    with app.extensions["btam"].stores.case_sessions() as db:
        return int(db.scalar(select(func.count(Note.id))) or 0)


def test_a_change_the_case_store_refuses_is_marked_not_applied(app: Flask, world: World) -> None:
    seeded = seed_cases(app, world)
    before = _notes(app)
    # The case store will refuse the next commit: the seq the trail is about to give the
    # entry already has its applied record (a real integrity error at COMMIT, no mock).
    taken = _head(app) + 1
    with app.extensions["btam"].stores.case_sessions() as db:
        db.add(AppliedChange(audit_seq=taken, applied_at=datetime.now(UTC)))
        db.commit()
    with acting_as(app, world, "lead_ben") as ctx:
        try:
            carry_out(
                ctx,
                records.add_note(
                    ctx, seeded.north, record_class=RecordClass.EDUCATION, body="Never stored."
                ),
            )
        except Exception as exc:
            refused = exc
        else:  # pragma: no cover - the commit must fail
            raise AssertionError("the case store took a commit it had to refuse")
    assert "IntegrityError" in type(refused).__name__
    assert _notes(app) == before
    with app.extensions["btam"].stores.audit_sessions() as db:
        entries = db.execute(select(AuditEntry).where(AuditEntry.seq >= taken)).scalars().all()
    assert [(e.action, e.outcome) for e in entries] == [
        (AuditAction.CASE_NOTE_ADDED.value, Outcome.ALLOWED.value),
        (AuditAction.AUDIT_CHANGE_NOT_APPLIED.value, Outcome.ERROR.value),
    ]
    marker = entries[1]
    # The marker names the entry it corrects, is made by the system, and names no person.
    assert (marker.object_type, marker.object_id) == ("audit_entry", str(taken))
    assert (marker.actor_id, marker.actor_role) == (None, "system")
    # Once the blocking row is gone the trail and the store agree entry for entry.
    with app.extensions["btam"].stores.case_sessions() as db:
        db.delete(db.get_one(AppliedChange, taken))
        db.commit()
    result = reconcile(
        app.extensions["btam"].stores.audit_sessions,
        applied_seqs(app.extensions["btam"].stores.case_sessions),
        settle=timedelta(0),
    )
    assert result.ok, result.summary


def test_every_committed_change_has_its_applied_record(app: Flask, world: World) -> None:
    seed_cases(app, world)
    stores = app.extensions["btam"].stores
    result = reconcile(
        stores.audit_sessions,
        applied_seqs(stores.case_sessions),
        settle=timedelta(0),
    )
    assert result.ok, result.summary
    assert result.changes > 0


def test_a_change_the_audit_store_refuses_changes_nothing(
    app: Flask, world: World, overrides: dict[str, object]
) -> None:
    seeded = seed_cases(app, world)
    before, head = _notes(app), _head(app)
    with worker_with(overrides, audit=True) as worker, acting_as(worker, world, "lead_ben") as ctx:
        try:
            carry_out(
                ctx,
                records.add_note(
                    ctx, seeded.north, record_class=RecordClass.EDUCATION, body="Never stored."
                ),
            )
        except Exception as exc:
            assert type(exc).__name__ == "AuditUnavailable"
        else:  # pragma: no cover
            raise AssertionError("a change was made without its audit entry")
    assert (_notes(app), _head(app)) == (before, head)
