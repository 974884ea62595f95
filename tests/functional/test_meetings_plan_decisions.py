"""The plans' decisions a meeting takes from an agenda item's page: a plan item with owner and
due date, a referral with the parent's consent, a review with its next date. Each goes through
the service the case page uses, reaches the case with its data, and shows in the case's
timeline linked to the meeting; only the meeting's lead decides, on a case still open.

Personas (tests/support/personas.py): the north team is lead_ben (team lead, administrator),
member_gus (mental health) and officer_hal (law enforcement), at North High; outsider_dee
leads the south team; counselor_ana is on no team.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from btam.access.policy import Act
from btam.access.record_classes import RecordClass
from btam.audit.actions import AuditAction
from btam.cases.lifecycle import CaseClosed
from btam.cases.terms import CaseStatus
from btam.context import carry_out
from btam.errors import AccessDenied
from btam.meetings.models import MeetingDecision
from btam.meetings.services import agenda, decisions
from btam.meetings.terms import DecisionKind, ItemKind
from btam.plans.models import PlanItem, Review
from btam.plans.referral_models import Referral
from btam.plans.referral_terms import Consent, Destination
from btam.plans.services.items import ItemData
from btam.plans.terms import Aim, Intervention
from tests.functional.test_assessment import add_fact, case_state, confirm, record
from tests.functional.test_meetings import EVERYONE, case_id, item_for, items_of, uid
from tests.support.cases import Seeded, acting_as, seed_cases
from tests.support.meetings import schedule_meeting
from tests.support.personas import World
from tests.support.plans import drafted_referral
from tests.support.stores import audit_entries
from tests.support.web import Browser, signed_in

SOON = date.today() + timedelta(days=10)
FOLLOW_UP = date.today() + timedelta(days=7)
NEXT_REVIEW = date.today() + timedelta(days=5)  # within the high level's seven days


@pytest.fixture
def seeded(app: Flask, world: World) -> Seeded:
    return seed_cases(app, world)


def plan_item_form(world: World, owner: str = "member_gus") -> dict[str, object]:
    return {
        "intervention": "supervision",
        "aim": "subject",
        "owner_id": str(uid(world, owner)),
        "due_on": SOON.isoformat(),
        "description": "Daily check-in before first period.",
    }


REFERRAL_FORM: dict[str, object] = {
    "destination": "community_mental_health",
    "agency": "Harbor Clinic",
    "contact": "Intake desk",
    "reason": "Outpatient counseling the family asked for.",
    "consent": "obtained",
    "consent_on": date.today().isoformat(),
    "consent_records": "The threat assessment summary",
    "consent_purpose": "Counseling intake",
    "consent_recipient": "Harbor Clinic",
    "follow_up_on": FOLLOW_UP.isoformat(),
    "record_class": "education",
}


def counts(app: Flask) -> tuple[int, int, int, int]:
    """Plan items, referrals, reviews and meeting decisions stored."""
    with app.extensions["btam"].stores.case_sessions() as db:
        return tuple(  # type: ignore[return-value]
            db.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (PlanItem, Referral, Review, MeetingDecision)
        )


def managed(app: Flask, world: World, number: str) -> None:
    """The case under management at the high level: a determination every participant
    confirmed."""
    fact = add_fact(app, world, number)
    determination = record(app, world, number, [fact], level="high")
    confirm(app, world, "member_gus", number, determination)
    confirm(app, world, "officer_hal", number, determination)
    assert case_state(app, number) == (CaseStatus.MANAGEMENT, "high")


def item_url(meeting_id: int, item_id: int) -> str:
    return f"/meetings/{meeting_id}/items/{item_id}"


def decide(browser: Browser, url: str, route: str, data: dict[str, object]) -> int:
    return browser.submit(url, data, action=f"{url}/{route}").status_code


# --------------------------------------------------------------------------- each decision


def test_a_plan_item_decided_in_the_meeting_reaches_the_case_with_the_meetings_link(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north)
    browser = signed_in(app, world, "lead_ben")
    url = item_url(meeting_id, item_id)
    page = browser.get(url).get_data(as_text=True)
    # The owners offered are those the plans allow on this case (not outsider_dee).
    assert f'value="{uid(world, "member_gus")}"' in page
    assert f'value="{uid(world, "outsider_dee")}"' not in page
    assert decide(browser, url, "plan-item", plan_item_form(world)) == 302
    with app.extensions["btam"].stores.case_sessions() as db:
        made = db.execute(select(PlanItem).order_by(PlanItem.id.desc())).scalars().first()
        assert made is not None
        assert (made.intervention, made.owner_id, made.due_on) == (
            Intervention.SUPERVISION,
            uid(world, "member_gus"),
            SOON,
        )
        link = db.execute(select(MeetingDecision)).scalar_one()
        assert (link.kind, link.ref_id, link.meeting_id) == (
            DecisionKind.PLAN_ITEM,
            made.id,
            meeting_id,
        )
    case_page = browser.get(f"/cases/{seeded.north}").get_data(as_text=True)
    assert "Daily check-in before first period." in case_page and SOON.isoformat() in case_page
    assert f'href="/meetings/{meeting_id}"' in case_page
    assert (
        f"Decided in meeting #{meeting_id}: Plan item added (Supervision / check-in, due "
        f"{SOON.isoformat()})" in case_page
    )
    item_page = browser.get(url).get_data(as_text=True)
    assert "Plan item added: Supervision / check-in" in item_page
    assert audit_entries(app, str(AuditAction.CASE_PLAN_ITEM_ADDED))
    linked = audit_entries(app, str(AuditAction.MEETING_DECISION_LINKED))
    assert [(e.case_id, e.purpose) for e in linked] == [(case_id(app, seeded.north), "plan_item")]


def test_a_referral_decided_in_the_meeting_is_drafted_on_the_case_with_its_consent(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north)
    browser = signed_in(app, world, "lead_ben")
    url = item_url(meeting_id, item_id)
    assert decide(browser, url, "referral", REFERRAL_FORM) == 302
    with app.extensions["btam"].stores.case_sessions() as db:
        made = db.execute(select(Referral)).scalar_one()
        assert (made.destination, made.consent, made.follow_up_on) == (
            Destination.COMMUNITY_MENTAL_HEALTH,
            Consent.OBTAINED,
            FOLLOW_UP,
        )
        link = db.execute(select(MeetingDecision)).scalar_one()
        assert (link.kind, link.ref_id) == (DecisionKind.REFERRAL, made.id)
    case_page = browser.get(f"/cases/{seeded.north}").get_data(as_text=True)
    assert "Community mental health — Harbor Clinic" in case_page
    assert "Outpatient counseling the family asked for." in case_page
    assert f"Decided in meeting #{meeting_id}: Referral made (Community mental health)" in case_page
    assert audit_entries(app, str(AuditAction.CASE_REFERRAL_DRAFTED))


def test_a_review_decided_in_the_meeting_sets_the_cases_next_review(
    app: Flask, world: World, seeded: Seeded
) -> None:
    managed(app, world, seeded.north)
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    with acting_as(app, world, "lead_ben") as ctx:
        item_id = carry_out(ctx, agenda.add_case(ctx, meeting_id, seeded.north))
    browser = signed_in(app, world, "lead_ben")
    url = item_url(meeting_id, item_id)
    assert 'action="' + f"{url}/review" + '"' in browser.get(url).get_data(as_text=True)
    data = {"changes": "Check-ins kept; no new concern.", "next_on": NEXT_REVIEW.isoformat()}
    assert decide(browser, url, "review", data) == 302
    with app.extensions["btam"].stores.case_sessions() as db:
        made = db.execute(select(Review)).scalar_one()
        assert made.next_on == NEXT_REVIEW
        link = db.execute(select(MeetingDecision)).scalar_one()
        assert (link.kind, link.ref_id) == (DecisionKind.REVIEW, made.id)
    case_page = browser.get(f"/cases/{seeded.north}").get_data(as_text=True)
    assert "Check-ins kept; no new concern." in case_page
    assert f"Next review: <strong>{NEXT_REVIEW.isoformat()}</strong>" in case_page
    assert (
        f"Decided in meeting #{meeting_id}: Review recorded (next review "
        f"{NEXT_REVIEW.isoformat()})" in case_page
    )
    # Nothing of what the review says goes into the timeline's line.
    timeline_line = next(
        line for line in case_page.splitlines() if f"Decided in meeting #{meeting_id}" in line
    )
    assert "Check-ins kept" not in timeline_line


def test_the_plans_forms_show_to_the_lead_on_an_open_case_only(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north)
    url = item_url(meeting_id, item_id)
    lead = signed_in(app, world, "lead_ben").get(url).get_data(as_text=True)
    assert f"{url}/plan-item" in lead and f"{url}/referral" in lead
    # A case in assessment has no review yet: reviews follow management and monitoring.
    assert f"{url}/review" not in lead
    member = signed_in(app, world, "member_gus").get(url).get_data(as_text=True)
    for route in ("plan-item", "referral", "review"):
        assert f"{url}/{route}" not in member


# --------------------------------------------------------------------------- refusals


def test_a_member_and_a_user_outside_the_team_cannot_decide_and_nothing_is_stored(
    app: Flask, world: World, seeded: Seeded
) -> None:
    managed(app, world, seeded.north)
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    with acting_as(app, world, "lead_ben") as ctx:
        item_id = carry_out(ctx, agenda.add_case(ctx, meeting_id, seeded.north))
    url = item_url(meeting_id, item_id)
    before = counts(app)
    review = {"changes": "Not mine to review.", "next_on": NEXT_REVIEW.isoformat()}
    forms = {"plan-item": plan_item_form(world), "referral": REFERRAL_FORM, "review": review}
    for who, expected in (("member_gus", 403), ("outsider_dee", 404)):
        browser = signed_in(app, world, who)
        token_page = "/meetings/" if who == "outsider_dee" else url
        for route, data in forms.items():
            answer = browser.submit(token_page, data, action=f"{url}/{route}")
            assert answer.status_code == expected, (who, route)
    assert counts(app) == before
    denied = audit_entries(app, str(AuditAction.ACCESS_RECORD_DENIED))
    assert {uid(world, "member_gus"), uid(world, "outsider_dee")} <= {e.actor_id for e in denied}


def test_a_closed_case_takes_no_plans_decision(app: Flask, world: World, seeded: Seeded) -> None:
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north_quiet)
    browser = signed_in(app, world, "lead_ben")
    url = item_url(meeting_id, item_id)
    closing = {"reason": "The note was a song lyric.", "final_review": "Nothing else is open."}
    assert decide(browser, url, "close", closing) == 302
    page = browser.get(url).get_data(as_text=True)
    assert f"{url}/plan-item" not in page and f"{url}/referral" not in page
    before = counts(app)
    for route, data in (("plan-item", plan_item_form(world)), ("referral", REFERRAL_FORM)):
        answer = browser.submit(url, data, action=f"{url}/{route}")
        assert answer.status_code == 400, route
        assert "closed" in answer.get_data(as_text=True)
    assert counts(app) == before
    with acting_as(app, world, "lead_ben") as ctx, pytest.raises(CaseClosed):
        decisions.review(ctx, meeting_id, item_id, changes="After closing.")


def test_the_plans_refusals_come_back_in_the_error_summary(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north)
    browser = signed_in(app, world, "lead_ben")
    url = item_url(meeting_id, item_id)
    before = counts(app)
    # An owner outside the case's scope: refused by the plans' own rule, named.
    answer = browser.submit(url, plan_item_form(world, "outsider_dee"), action=f"{url}/plan-item")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "There is a problem" in text and "may not own this item" in text
    # Consent said obtained, without the date of the written consent.
    incomplete = REFERRAL_FORM | {"consent_on": ""}
    answer = browser.submit(url, incomplete, action=f"{url}/referral")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "There is a problem" in text and "Give the date of the written consent." in text
    assert "Harbor Clinic" in text  # the form comes back as typed
    assert counts(app) == before


def test_a_topic_takes_no_plans_decision(app: Flask, world: World, seeded: Seeded) -> None:
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE, build=False)
    with acting_as(app, world, "lead_ben") as ctx:
        topic = carry_out(ctx, agenda.add_topic(ctx, meeting_id, "Bus duty rota"))
    browser = signed_in(app, world, "lead_ben")
    url = item_url(meeting_id, topic)
    before = counts(app)
    answer = browser.submit(url, plan_item_form(world), action=f"{url}/plan-item")
    assert answer.status_code == 400
    assert "Decisions are taken on an item about a case." in answer.get_data(as_text=True)
    assert counts(app) == before
    assert [i.id for i in items_of(app, meeting_id)] == [topic]


# --------------------------------------------------------------------------- the timeline


def test_a_referrals_destination_shows_in_the_timeline_only_to_whoever_may_read_it(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north)
    # A counseling referral, drafted by the mental-health member, linked to the meeting.
    with acting_as(app, world, "member_gus") as ctx:
        referral_id = drafted_referral(
            ctx,
            seeded.north,
            agency="Harbor Clinic",
            contact="",
            follow_up_on=FOLLOW_UP,
            record_class=RecordClass.COUNSELING,
        )
    with acting_as(app, world, "lead_ben") as ctx:
        loaded, item = agenda.loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
        carry_out(
            ctx,
            decisions.link_decision(ctx, loaded, item, DecisionKind.REFERRAL, ref_id=referral_id),
        )
    line = f"Decided in meeting #{meeting_id}: Referral made"
    gus = signed_in(app, world, "member_gus").get(f"/cases/{seeded.north}").get_data(as_text=True)
    assert f"{line} (Community mental health)" in gus
    hal = signed_in(app, world, "officer_hal").get(f"/cases/{seeded.north}").get_data(as_text=True)
    assert line in hal and f"{line} (" not in hal


def test_a_plan_item_decided_through_the_service_links_the_item_it_made(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north)
    data = ItemData(
        intervention=Intervention.PARENT_CONFERENCE,
        description="",
        aim=Aim.SUBJECT,
        owner_id=uid(world, "officer_hal"),
        due_on=SOON,
    )
    with acting_as(app, world, "member_gus") as ctx, pytest.raises(AccessDenied):
        decisions.add_plan_item(ctx, meeting_id, item_id, data)
    with acting_as(app, world, "lead_ben") as ctx:
        made = carry_out(ctx, decisions.add_plan_item(ctx, meeting_id, item_id, data))
    with app.extensions["btam"].stores.case_sessions() as db:
        link = db.execute(select(MeetingDecision)).scalar_one()
        row = db.get(PlanItem, made)
        assert row is not None and row.owner_id == uid(world, "officer_hal")
    assert (link.kind, link.ref_id, link.case_id) == (
        DecisionKind.PLAN_ITEM,
        made,
        case_id(app, seeded.north),
    )
