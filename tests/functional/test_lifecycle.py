"""The case lifecycle through the services and the pages: a closed case refuses changes,
only the lead closes and reopens, with a reason, and every transition is history and audit."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from btam.access.record_classes import RecordClass
from btam.audit.actions import AuditAction
from btam.cases.lifecycle import CaseClosed, InvalidTransition, Transition
from btam.cases.models import Case, CaseStatusChange
from btam.cases.services import guard, lifecycle, page, records, team
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext, Staged, carry_out
from btam.errors import AccessDenied, ValidationFailed
from btam.intake.services import triage
from btam.intake.terms import TriageOutcome
from btam.people.services.matching import PersonData
from btam.people.terms import Part, PersonKind
from btam.plans import repository as plan_repo
from btam.plans.services import closure, items
from btam.plans.terms import FINISHED, Aim, Intervention, ItemStatus
from tests.support.cases import PDF, Seeded, acting_as, seed_cases, seed_reports
from tests.support.personas import World
from tests.support.stores import audit_entries
from tests.support.web import signed_in


@pytest.fixture
def seeded(app: Flask, world: World) -> Seeded:
    return seed_cases(app, world)


def finish_plan(ctx: ServiceContext, number: str) -> None:
    """Discontinue every open plan item of the case (closing waits for them)."""
    case_id = guard.load_case(ctx, number).case.id
    for row in plan_repo.items(ctx.db, case_id):
        if row.status not in FINISHED:
            carry_out(
                ctx,
                items.set_status(
                    ctx, number, row.id, status=ItemStatus.DISCONTINUED, reason="Not needed."
                ),
            )


def close(app: Flask, world: World, number: str, reason: str = "Plan completed.") -> None:
    with acting_as(app, world, "lead_ben") as ctx:
        finish_plan(ctx, number)
        carry_out(
            ctx,
            closure.close_case(ctx, number, rationale=reason, final_review="Nothing is open."),
        )


def status_of(app: Flask, number: str) -> CaseStatus:
    with app.extensions["btam"].stores.case_sessions() as db:
        return db.execute(select(Case.status).where(Case.number == number)).scalar_one()


def changes(seeded: Seeded, world: World) -> dict[str, Callable[[ServiceContext], Staged[object]]]:
    """Every change a team member can ask of a case, by name."""
    north = seeded.north
    ana = world.people["counselor_ana"].user_id
    return {
        "summary": lambda ctx: records.update_summary(ctx, north, summary="A new summary."),
        "note": lambda ctx: records.add_note(
            ctx, north, record_class=RecordClass.EDUCATION, body="One more note."
        ),
        "party": lambda ctx: records.add_party(
            ctx,
            north,
            part=Part.WITNESS,
            person=PersonData(kind=PersonKind.STUDENT, given_name="Rory", family_name="Vale"),
        ),
        "attachment": lambda ctx: records.add_attachment(
            ctx,
            north,
            record_class=RecordClass.EDUCATION,
            filename="late.pdf",
            content_type="application/pdf",
            data=PDF,
        ),
        "member": lambda ctx: team.add_member(ctx, north, user_id=ana),
        "work": lambda ctx: items.add_item(
            ctx,
            north,
            items.ItemData(Intervention.OTHER, "Call.", Aim.SUBJECT, owner_id=ana, due_on=None),
        ),
        "done": lambda ctx: items.set_status(
            ctx, north, seeded.assignment_id, status=ItemStatus.DONE
        ),
    }


@pytest.mark.parametrize(
    "change", ["summary", "note", "party", "attachment", "member", "work", "done"]
)
def test_a_closed_case_refuses_every_change_and_stores_nothing(
    app: Flask, world: World, seeded: Seeded, change: str
) -> None:
    close(app, world, seeded.north)
    with acting_as(app, world, "lead_ben") as ctx:
        before = page.view_case(ctx, seeded.north)
        with pytest.raises(CaseClosed, match="closed"):
            changes(seeded, world)[change](ctx)
        ctx.db.rollback()
        after = page.view_case(ctx, seeded.north)
    assert (before.summary, before.parties, before.notes, before.attachments) == (
        after.summary,
        after.parties,
        after.notes,
        after.attachments,
    )
    assert before.members == after.members


def test_a_reopened_case_takes_changes_again_and_keeps_its_history(
    app: Flask, world: World, seeded: Seeded
) -> None:
    close(app, world, seeded.north, reason="Nothing left to manage.")
    assert status_of(app, seeded.north) is CaseStatus.CLOSED
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx,
            lifecycle.change_status(
                ctx,
                seeded.north,
                move=Transition.REOPEN_MANAGEMENT,
                reason="A new report about the same student.",
            ),
        )
        carry_out(ctx, changes(seeded, world)["note"](ctx))
        view = page.view_case(ctx, seeded.north)
    assert view.header.status is CaseStatus.MANAGEMENT
    assert [(h.transition, h.to_status) for h in view.history] == [
        (Transition.CLOSE, CaseStatus.CLOSED),
        (Transition.REOPEN_MANAGEMENT, CaseStatus.MANAGEMENT),
    ]
    assert [h.reason for h in view.history] == [
        "Nothing left to manage.",
        "A new report about the same student.",
    ]
    assert all(h.by == "Ben Lead" for h in view.history)
    entries = audit_entries(app, AuditAction.CASE_STATUS_CHANGED.value)
    assert [e.purpose for e in entries] == [
        "close: assessment to closed",
        "reopen_management: closed to management",
    ]


def test_only_the_lead_closes_and_only_with_a_reason(
    app: Flask, world: World, seeded: Seeded
) -> None:
    with acting_as(app, world, "member_gus") as ctx, pytest.raises(AccessDenied):
        closure.close_case(ctx, seeded.north, rationale="Done.", final_review="Done.")
    with acting_as(app, world, "lead_ben") as ctx:
        with pytest.raises(ValidationFailed, match="required"):
            closure.close_case(ctx, seeded.north, rationale="   ", final_review="Done.")
        ctx.db.rollback()
        # Closing has its own form: the status form only reopens.
        with pytest.raises(InvalidTransition, match="closing form"):
            lifecycle.change_status(ctx, seeded.north, move=Transition.CLOSE, reason="Done.")
        ctx.db.rollback()
        # The work decides the other transitions: a lead cannot skip the determination.
        with pytest.raises(InvalidTransition):
            lifecycle.change_status(
                ctx, seeded.north, move=Transition.BEGIN_MANAGEMENT, reason="Because."
            )
        ctx.db.rollback()
        # A case that is open cannot be reopened.
        with pytest.raises(InvalidTransition):
            lifecycle.change_status(
                ctx, seeded.north, move=Transition.REOPEN_ASSESSMENT, reason="Again."
            )
    assert status_of(app, seeded.north) is CaseStatus.ASSESSMENT
    with app.extensions["btam"].stores.case_sessions() as db:
        assert db.execute(select(CaseStatusChange)).first() is None


def test_a_report_cannot_be_triaged_into_a_closed_case(
    app: Flask, world: World, seeded: Seeded
) -> None:
    reports = seed_reports(app, world)
    close(app, world, seeded.north)
    with acting_as(app, world, "lead_ben") as ctx, pytest.raises(CaseClosed) as refused:
        triage.decide(
            ctx,
            reports.nhs_report,
            triage.Decision(
                outcome=TriageOutcome.ADDED_TO_CASE, screening={}, case_number=seeded.north
            ),
        )
    assert refused.value.field == "case_number"


def test_the_lead_closes_and_reopens_on_the_case_page(
    app: Flask, world: World, seeded: Seeded
) -> None:
    lead = signed_in(app, world, "lead_ben")
    url = f"/cases/{seeded.north}"
    refused = lead.submit(url, {"rationale": "", "final_review": "x"}, action=f"{url}/close")
    assert refused.status_code == 400
    assert "This field is required." in refused.get_data(as_text=True)
    # The counselor's check-in is still planned: closing names it.
    form = {"rationale": "Plan completed.", "final_review": "Every item ended."}
    still_open = lead.submit(url, form, action=f"{url}/close")
    assert still_open.status_code == 400
    assert "plan item &#39;Weekly check-in with the student&#39; is planned" in (
        still_open.get_data(as_text=True)
    )
    with acting_as(app, world, "lead_ben") as ctx:
        finish_plan(ctx, seeded.north)
    done = lead.submit(url, form, action=f"{url}/close", follow=True)
    text = done.get_data(as_text=True)
    assert "The case is closed." in text and "Plan completed." in text
    assert "Every item ended." in text and "(final review)" in text
    # A closed case's page offers no form that would change it, only reopening.
    assert "Add a note" not in text and "Reopen the case" in text
    note = lead.submit(
        url, {"record_class": "education", "body": "Late note."}, action=f"{url}/notes"
    )
    assert note.status_code == 400
    assert "This case is closed" in note.get_data(as_text=True)
    # A team member is not the lead: the form is refused before it is read.
    member = signed_in(app, world, "member_gus")
    assert (
        member.submit(
            url, {"move": "reopen_assessment", "reason": "x"}, action=f"{url}/status"
        ).status_code
        == 403
    )
