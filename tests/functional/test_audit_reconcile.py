"""``btam audit reconcile``: the trail and the case store's record of applied changes agree.

The unit of work is played here as the application plays it: the audit entries first
(``append_all``), then the case store's commit with one ``applied_changes`` row per change
entry, or, when that commit fails, ``mark_not_applied``. Runs on SQLite and, with
BTAM_TEST_STORES=postgresql, on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import text

from btam.audit.actions import AuditAction, Outcome
from btam.audit.applied import AppliedChange, applied_seqs
from btam.audit.context import AuditContext
from btam.audit.events import AuditEvent, NotAppliedReason
from btam.audit.reconcile import Problem, ReconcileResult, reconcile
from btam.audit.writer import utcnow
from btam.cli.audit import audit

LEAD = AuditContext(actor_id=2, actor_role="team_lead", request_id="r-1", client_address=None)
NOW_ENOUGH = timedelta(0)  # no entry is still settling


def note(n: int) -> AuditEvent:
    return AuditEvent(
        action=AuditAction.CASE_NOTE_ADDED, object_type="note", object_id=n, case_id=7, school_id=1
    )


def viewed(n: int) -> AuditEvent:
    return AuditEvent(action=AuditAction.CASE_RECORD_VIEWED, object_type="case", object_id=n)


def unit_of_work(app: Flask, *events: AuditEvent, case_store_commits: bool = True) -> list[int]:
    """Record the events, then apply their changes, or mark them as not applied."""
    rt = app.extensions["btam"]
    seqs = rt.audit.append_all(LEAD, list(events))
    changes = [seq for seq, e in zip(seqs, events, strict=True) if e.action != "case:record:viewed"]
    if case_store_commits:
        with rt.stores.case_sessions() as db:
            db.add_all(AppliedChange(audit_seq=seq, applied_at=utcnow()) for seq in changes)
            db.commit()
    else:
        rt.audit.mark_not_applied(LEAD, changes, NotAppliedReason.CASE_STORE_COMMIT_FAILED)
    return seqs


def applied_behind_the_trail(app: Flask, *seqs: int) -> None:
    """Rows the unit of work would never write: as a bug, or an insider, would."""
    with app.extensions["btam"].stores.case_sessions() as db:
        db.add_all(AppliedChange(audit_seq=seq, applied_at=utcnow()) for seq in seqs)
        db.commit()


def check(app: Flask, settle: timedelta = NOW_ENOUGH) -> ReconcileResult:
    stores = app.extensions["btam"].stores
    return reconcile(stores.audit_sessions, applied_seqs(stores.case_sessions), settle=settle)


def problems(result: ReconcileResult) -> list[tuple[int, Problem]]:
    return [(d.seq, d.problem) for d in result.first]


@pytest.fixture
def trail(app: Flask) -> Flask:
    """Some entries written before the case store kept a record, then a real history."""
    app.extensions["btam"].audit.append_all(LEAD, [note(1), viewed(1)])
    unit_of_work(app, note(2), viewed(2))
    unit_of_work(app, note(3), note(4))
    unit_of_work(app, note(5), case_store_commits=False)
    unit_of_work(app, viewed(3))
    return app


def test_a_trail_that_matches_the_case_store_reconciles(trail: Flask) -> None:
    result = check(trail)
    assert result.ok, result
    first = result.checked_from
    assert first is not None and first > 2
    assert (result.changes, result.applied, result.differences) == (4, 3, 0)
    assert result.summary.startswith("trail and case store agree: 4 changes and 3 applied")
    # What was not checked is said plainly.
    assert f"(entries 1-{first - 1} predate the case store's record)" in result.summary


def test_a_change_the_case_store_never_applied_is_reported(trail: Flask) -> None:
    """The load test's case: entries for tip messages whose case-store commit failed."""
    lost = trail.extensions["btam"].audit.append_all(LEAD, [note(6), note(7)])
    result = check(trail)
    assert not result.ok
    assert problems(result) == [(lost[0], Problem.NEVER_APPLIED), (lost[1], Problem.NEVER_APPLIED)]
    assert result.first[0].action == "case:note:added"
    assert result.summary.startswith("trail and case store DIFFER: 2 differences")


def test_a_change_marked_as_not_applied_needs_no_record(trail: Flask) -> None:
    seqs = trail.extensions["btam"].audit.append_all(LEAD, [note(6)])
    assert not check(trail).ok
    trail.extensions["btam"].audit.mark_not_applied(
        LEAD, seqs, NotAppliedReason.CASE_STORE_COMMIT_FAILED
    )
    assert check(trail).ok


def test_an_applied_change_with_no_entry_is_reported(trail: Flask) -> None:
    head = trail.extensions["btam"].audit.append_all(LEAD, [viewed(9)])[0]
    applied_behind_the_trail(trail, head + 5)
    result = check(trail)
    assert problems(result) == [(head + 5, Problem.NO_ENTRY)]
    assert result.first[0].action is None


def test_an_applied_record_for_an_entry_that_records_no_change_is_reported(trail: Flask) -> None:
    seq = trail.extensions["btam"].audit.append_all(LEAD, [viewed(9)])[0]
    applied_behind_the_trail(trail, seq)
    assert problems(check(trail)) == [(seq, Problem.NOT_A_CHANGE)]


def test_a_change_both_applied_and_marked_not_applied_is_reported(trail: Flask) -> None:
    seq = unit_of_work(trail, note(8))[0]
    trail.extensions["btam"].audit.mark_not_applied(
        LEAD, [seq], NotAppliedReason.CASE_STORE_COMMIT_FAILED
    )
    assert problems(check(trail)) == [(seq, Problem.MARKED_NOT_APPLIED)]


def test_refused_changes_need_no_record(trail: Flask) -> None:
    trail.extensions["btam"].audit.append(
        LEAD, action=AuditAction.CASE_NOTE_ADDED, outcome=Outcome.DENIED, object_type="case"
    )
    assert check(trail).ok


def test_entries_still_settling_are_left_for_a_later_run(trail: Flask) -> None:
    trail.extensions["btam"].audit.append_all(LEAD, [note(6)])
    result = check(trail, settle=timedelta(minutes=2))
    assert result.ok and result.settling == 1
    assert "1 newer entries are still settling" in result.summary
    assert not check(trail).ok


def test_nothing_applied_yet_means_nothing_checked_and_says_so(app: Flask) -> None:
    app.extensions["btam"].audit.append_all(LEAD, [note(1)])
    result = check(app)
    assert result.ok and result.checked_from is None
    assert result.summary.startswith("nothing to reconcile: the case store has recorded no")


def test_applied_seqs_must_come_in_order(app: Flask) -> None:
    with pytest.raises(ValueError, match="ascending"):
        reconcile(app.extensions["btam"].stores.audit_sessions, [3, 2])


# --- the command --------------------------------------------------------------------------


@pytest.fixture
def env(overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTAM_CONFIG", "testing")
    monkeypatch.setenv("BTAM_INSTANCE", str(overrides["instance"]))
    monkeypatch.setenv("BTAM_DATABASE_URL", str(overrides["database_url"]))
    monkeypatch.setenv("BTAM_AUDIT_DATABASE_URL", str(overrides["audit_database_url"]))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(audit, ["reconcile", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_command_exits_0_when_they_agree(trail: Flask, env: None) -> None:
    code, out, err = run()
    assert (code, err) == (0, "")
    assert out.startswith("trail and case store agree: 4 changes") and out.count("\n") == 1


def test_the_command_exits_1_with_a_summary_and_the_first_differences(
    trail: Flask, env: None
) -> None:
    lost = trail.extensions["btam"].audit.append_all(LEAD, [note(n) for n in range(6, 9)])
    code, out, err = run("--settle", "0", "--show", "2")
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0].startswith("trail and case store DIFFER: 3 differences in entries ")
    assert lines[1:] == [
        f"  seq {lost[0]} case:note:added: {Problem.NEVER_APPLIED}",
        f"  seq {lost[1]} case:note:added: {Problem.NEVER_APPLIED}",
        "  ... and 1 more",
    ]


def test_the_command_exits_2_when_it_cannot_check(
    app: Flask, env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "btam.sqlite3"
    monkeypatch.setenv("BTAM_DATABASE_URL", f"sqlite:///{missing}")
    code, out, err = run()
    assert (code, out) == (2, "")
    assert err == f"Error: the case store {missing} does not exist (btam init creates it)\n"
    assert not missing.parent.exists()


def test_the_command_exits_2_when_the_case_store_has_no_record_table(app: Flask, env: None) -> None:
    with app.extensions["btam"].stores.case_engine.begin() as conn:
        conn.execute(text("DROP TABLE applied_changes"))
    code, _, err = run()
    assert code == 2 and err.count("\n") == 1 and "cannot be read" in err
