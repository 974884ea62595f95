"""Case meetings: scheduled in the district's zone, an agenda built from each source of the
team's work, attendance with disciplines and guests, the quorum always shown, minutes kept
as encrypted education records, decisions carried into the cases by their own services and
linked back to the meeting, a printed agenda without names.

Personas (tests/support/personas.py): the north team is lead_ben (team lead, administrator),
member_gus (mental health) and officer_hal (law enforcement), at North High; outsider_dee
leads the south team; counselor_ana is on no team.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from btam.accounts.services import organisation
from btam.assessment.models import Determination
from btam.assessment.terms import DeterminationStatus
from btam.audit.actions import AuditAction, Outcome
from btam.cases.models import Case
from btam.cases.terms import CaseStatus
from btam.context import carry_out
from btam.errors import AccessDenied, NotFound, ValidationFailed
from btam.meetings.models import AgendaItem, Meeting, Minute
from btam.meetings.services import agenda, attendance, decisions, minutes, providers
from btam.meetings.terms import ItemKind
from tests.functional.test_assessment import add_fact, confirm, record
from tests.support.cases import Seeded, acting_as, seed_cases, seed_reports
from tests.support.meetings import schedule_meeting
from tests.support.personas import World, system_ctx
from tests.support.stores import audit_entries
from tests.support.web import signed_in

EVERYONE = ("lead_ben", "member_gus", "officer_hal")


@pytest.fixture
def seeded(app: Flask, world: World) -> Seeded:
    return seed_cases(app, world)


def uid(world: World, who: str) -> int:
    return world.people[who].user_id


def items_of(app: Flask, meeting_id: int) -> list[AgendaItem]:
    with app.extensions["btam"].stores.case_sessions() as db:
        query = select(AgendaItem).where(
            AgendaItem.meeting_id == meeting_id, AgendaItem.removed_at.is_(None)
        )
        return list(db.execute(query.order_by(AgendaItem.position)).scalars())


def case_id(app: Flask, number: str) -> int:
    with app.extensions["btam"].stores.case_sessions() as db:
        return db.execute(select(Case.id).where(Case.number == number)).scalar_one()


def item_for(app: Flask, meeting_id: int, kind: ItemKind, number: str) -> int:
    wanted = case_id(app, number)
    return next(i.id for i in items_of(app, meeting_id) if i.kind is kind and i.case_id == wanted)


# --------------------------------------------------------------------------- scheduling


def test_a_lead_schedules_a_meeting_typed_in_the_districts_zone(app: Flask, world: World) -> None:
    ctx = system_ctx(app)
    try:
        carry_out(
            ctx,
            organisation.update_district(
                ctx, assessment_model="default", time_zone="America/Chicago"
            ),
        )
    finally:
        ctx.db.close()
    browser = signed_in(app, world, "lead_ben")
    answer = browser.submit(
        "/meetings/",
        {
            "team_id": str(world.team_ids["north"]),
            "starts_on": "2027-01-12",
            "starts_at": "09:30",
            "place": "Library conference room",
            "kind": "urgent",
        },
    )
    assert answer.status_code == 302
    with app.extensions["btam"].stores.case_sessions() as db:
        meeting = db.execute(select(Meeting)).scalar_one()
    # 09:30 in Chicago in January is 15:30 UTC.
    assert meeting.starts_at == datetime(2027, 1, 12, 15, 30, tzinfo=UTC)
    listing = browser.get("/meetings/").get_data(as_text=True)
    assert "2027-01-12 09:30 CST" in listing and "Library conference room" in listing
    assert "Urgent" in listing


def test_a_member_schedules_for_its_own_team_only(app: Flask, world: World) -> None:
    browser = signed_in(app, world, "member_gus")
    answer = browser.submit(
        "/meetings/",
        {
            "team_id": str(world.team_ids["south"]),
            "starts_on": "2027-01-12",
            "starts_at": "09:30",
            "place": "Room 1",
            "kind": "regular",
        },
    )
    assert answer.status_code == 400  # not one of the choices the page offers
    with app.extensions["btam"].stores.case_sessions() as db:
        assert db.execute(select(Meeting)).first() is None


def test_the_list_shows_upcoming_and_past_meetings_of_ones_teams(app: Flask, world: World) -> None:
    past = schedule_meeting(app, world, in_days=-7, build=False)
    upcoming = schedule_meeting(app, world, in_days=3, build=False)
    south = schedule_meeting(app, world, by="outsider_dee", team="south", build=False)
    page = signed_in(app, world, "member_gus").get("/meetings/").get_data(as_text=True)
    upcoming_part, past_part = page.split("Past meetings")
    assert f"/meetings/{upcoming}" in upcoming_part and f"/meetings/{past}" in past_part
    assert f"/meetings/{south}" not in page


# --------------------------------------------------------------------------- the agenda


def test_the_agenda_takes_reports_awaiting_triage_of_the_teams_schools(
    app: Flask, world: World, seeded: Seeded
) -> None:
    reports = seed_reports(app, world)
    meeting_id = schedule_meeting(app, world)
    triage = [i for i in items_of(app, meeting_id) if i.kind is ItemKind.TRIAGE]
    assert {i.report_id for i in triage} == {reports.nhs_report, reports.nhs_tip}
    assert all(i.due_at is not None for i in triage)


def test_the_agenda_takes_the_teams_cases_in_assessment(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world)
    assessed = {i.case_id for i in items_of(app, meeting_id) if i.kind is ItemKind.ASSESSMENT}
    assert assessed == {case_id(app, seeded.north), case_id(app, seeded.north_quiet)}


def test_the_agenda_takes_determinations_waiting_for_confirmation(
    app: Flask, world: World, seeded: Seeded
) -> None:
    fact = add_fact(app, world, seeded.north)
    determination_id = record(app, world, seeded.north, [fact])
    meeting_id = schedule_meeting(app, world)
    waiting = [i for i in items_of(app, meeting_id) if i.kind is ItemKind.CONFIRMATION]
    assert [(i.case_id, i.ref_id) for i in waiting] == [
        (case_id(app, seeded.north), determination_id)
    ]


def test_the_agenda_is_built_from_the_providers_tuple(
    app: Flask, world: World, seeded: Seeded
) -> None:
    assert (
        providers.reports_awaiting_triage,
        providers.cases_in_assessment,
        providers.determinations_to_confirm,
        providers.reviews_due,
        providers.overdue_plan_items,
        providers.referral_follow_ups,
        providers.outstanding_notifications,
    ) == providers.PROVIDERS
    meeting_id = schedule_meeting(app, world, build=False)
    topic = providers.Proposal(ItemKind.NOTIFICATION, case_id=case_id(app, seeded.north))
    with acting_as(app, world, "lead_ben") as ctx:
        added = carry_out(
            ctx, agenda.build_agenda(ctx, meeting_id, providers=(lambda _c, _t, _u: [topic],))
        )
    assert added == 1
    assert [i.kind for i in items_of(app, meeting_id)] == [ItemKind.NOTIFICATION]


def test_rebuilding_adds_only_new_work_and_never_brings_back_a_removed_item(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world)
    first = items_of(app, meeting_id)
    removed = first[0].id
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(ctx, agenda.remove_item(ctx, meeting_id, removed))
        assert carry_out(ctx, agenda.build_agenda(ctx, meeting_id)) == 0
    assert [i.id for i in items_of(app, meeting_id)] == [i.id for i in first[1:]]


def test_the_lead_adds_a_case_and_a_topic_and_reorders(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, build=False)
    browser = signed_in(app, world, "lead_ben")
    url = f"/meetings/{meeting_id}"
    assert (
        browser.submit(url, {"number": seeded.north}, action=f"{url}/agenda/cases").status_code
        == 302
    )
    assert (
        browser.submit(url, {"topic": "Bus duty rota"}, action=f"{url}/agenda/topics").status_code
        == 302
    )
    case_item, topic_item = items_of(app, meeting_id)
    assert case_item.kind is ItemKind.CASE and topic_item.kind is ItemKind.TOPIC
    moved = browser.submit(url, {"direction": "up"}, action=f"{url}/items/{topic_item.id}/move")
    assert moved.status_code == 302
    assert [i.id for i in items_of(app, meeting_id)] == [topic_item.id, case_item.id]
    # Another team's case is not the meeting's to discuss; it is not even known.
    south = browser.submit(url, {"number": seeded.south}, action=f"{url}/agenda/cases")
    assert south.status_code == 404
    assert len(items_of(app, meeting_id)) == 2


def test_a_member_cannot_shape_the_agenda(app: Flask, world: World, seeded: Seeded) -> None:
    meeting_id = schedule_meeting(app, world)
    item = items_of(app, meeting_id)[0]
    browser = signed_in(app, world, "member_gus")
    url = f"/meetings/{meeting_id}"
    assert browser.post_button(url, f"{url}/items/{item.id}/remove").status_code == 403
    assert browser.post_button(url, f"{url}/agenda").status_code == 403
    assert items_of(app, meeting_id)[0].id == item.id
    denied = audit_entries(app, str(AuditAction.ACCESS_RECORD_DENIED))
    assert any(
        e.object_type == "meeting" and e.actor_id == uid(world, "member_gus") for e in denied
    )


# --------------------------------------------------------------------------- attendance


def test_the_page_always_shows_whether_the_disciplines_present_make_the_quorum(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, attendees=("lead_ben", "member_gus"))
    browser = signed_in(app, world, "lead_ben")
    page = browser.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "Quorum: not met" in page and "Missing: Law enforcement" in page
    url = f"/meetings/{meeting_id}"
    answer = browser.submit(
        url, {"user_id": str(uid(world, "officer_hal"))}, action=f"{url}/attendees"
    )
    assert answer.status_code == 302
    page = browser.get(url).get_data(as_text=True)
    assert "Quorum: met" in page and "Missing:" not in page


def test_a_guest_is_not_counted_for_the_quorum(app: Flask, world: World, seeded: Seeded) -> None:
    meeting_id = schedule_meeting(app, world, attendees=("lead_ben", "member_gus"))
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx,
            attendance.add_guest(ctx, meeting_id, name="Sgt. Pell", affiliation="County sheriff"),
        )
        loaded = attendance.load_meeting(ctx, meeting_id)
        assert attendance.quorum(ctx, loaded).missing == ["Law enforcement"]


def test_confidentiality_is_acknowledged_once_per_attendee(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, attendees=("member_gus",))
    with acting_as(app, world, "lead_ben") as ctx:
        row = ctx.db.execute(
            select(attendance.Attendee).where(attendance.Attendee.meeting_id == meeting_id)
        ).scalar_one()
        attendee_id = row.id
    browser = signed_in(app, world, "member_gus")
    url = f"/meetings/{meeting_id}"
    assert "I will keep what is said" in browser.get(url).get_data(as_text=True)
    first = browser.post_button(url, f"{url}/attendees/{attendee_id}/acknowledge", follow=True)
    assert "Confidentiality acknowledgement recorded." in first.get_data(as_text=True)
    with acting_as(app, world, "lead_ben") as ctx, pytest.raises(ValidationFailed):
        attendance.acknowledge(ctx, meeting_id, attendee_id)
    # officer_hal is on the team but not this attendee.
    with acting_as(app, world, "officer_hal") as ctx, pytest.raises(AccessDenied):
        attendance.acknowledge(ctx, meeting_id, attendee_id)
    acknowledged = audit_entries(app, str(AuditAction.MEETING_ATTENDEE_ACKNOWLEDGED))
    assert [e.actor_id for e in acknowledged] == [uid(world, "member_gus")]


# --------------------------------------------------------------------------- guests


def test_a_guest_sees_only_the_items_the_lead_shares(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world)
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(ctx, attendance.add_guest(ctx, meeting_id, user_id=uid(world, "counselor_ana")))
    shared = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north)
    quiet = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north_quiet)
    lead = signed_in(app, world, "lead_ben")
    url = f"/meetings/{meeting_id}"
    assert (
        lead.submit(url, {"shared": "yes"}, action=f"{url}/items/{shared}/share").status_code == 302
    )
    guest = signed_in(app, world, "counselor_ana")
    page = guest.get(url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "as a guest" in text
    assert seeded.north in text and "bring a knife" in text
    assert seeded.north_quiet not in text and "locker" not in text
    assert "Quorum" not in text and f"items/{quiet}" not in text
    printed = guest.get(f"{url}/print").get_data(as_text=True)
    assert seeded.north in printed and seeded.north_quiet not in printed
    # A guest writes nothing and opens no item page.
    assert guest.get(f"{url}/items/{shared}").status_code == 403
    viewed = audit_entries(app, str(AuditAction.MEETING_RECORD_VIEWED))
    assert any(
        e.actor_id == uid(world, "counselor_ana") and e.purpose == "guest view" for e in viewed
    )


def test_a_user_outside_the_team_cannot_open_the_meeting(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world)
    for who in ("outsider_dee", "counselor_ana"):
        browser = signed_in(app, world, who)
        assert browser.get(f"/meetings/{meeting_id}").status_code == 404
        assert browser.get(f"/meetings/{meeting_id}/print").status_code == 404
    denied = audit_entries(app, str(AuditAction.ACCESS_RECORD_DENIED))
    assert {(e.actor_id, e.object_type, e.object_id, e.outcome) for e in denied} >= {
        (uid(world, "outsider_dee"), "meeting", str(meeting_id), str(Outcome.DENIED))
    }
    with acting_as(app, world, "outsider_dee") as ctx, pytest.raises(NotFound):
        agenda.add_topic(ctx, meeting_id, "anything")


# --------------------------------------------------------------------------- printed


def test_the_printed_agenda_holds_no_name_or_narrative(
    app: Flask, world: World, seeded: Seeded
) -> None:
    reports = seed_reports(app, world)
    meeting_id = schedule_meeting(app, world)
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(ctx, agenda.add_topic(ctx, meeting_id, "Jordan Rivera's bus route"))
        carry_out(ctx, attendance.add_guest(ctx, meeting_id, name="Dana Whitlock"))
    page = signed_in(app, world, "lead_ben").get(f"/meetings/{meeting_id}/print")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert seeded.north in text and f"Report #{reports.nhs_report}" in text
    assert "Case in assessment" in text and "Report awaiting triage" in text
    for word in (
        "Jordan",
        "Rivera",
        "knife",
        "locker",
        "Taylor",
        "Brooks",
        "rifle",
        "Dana",
        "Whitlock",
        "Ben Lead",
        "bus route",
    ):
        assert word not in text, word
    assert "print.css" in text and "<script" not in text
    assert audit_entries(app, str(AuditAction.MEETING_AGENDA_PRINTED))


# --------------------------------------------------------------------------- decisions


def test_a_determination_without_quorum_in_the_room_is_refused(
    app: Flask, world: World, seeded: Seeded
) -> None:
    fact = add_fact(app, world, seeded.north)
    meeting_id = schedule_meeting(app, world, attendees=("lead_ben", "member_gus"))
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north)
    browser = signed_in(app, world, "lead_ben")
    url = f"/meetings/{meeting_id}/items/{item_id}"
    page = browser.get(url).get_data(as_text=True)
    assert "do not make a quorum; missing: Law enforcement" in page
    answer = browser.submit(
        url,
        {
            "kind": "determination",
            "classification": "substantive_serious",
            "level": "high",
            "rationale": "A threat to a class, a grievance, no plan found.",
            "facts": str(fact),
        },
        action=f"{url}/determination",
    )
    assert answer.status_code == 400
    assert "missing: Law enforcement" in answer.get_data(as_text=True)
    with app.extensions["btam"].stores.case_sessions() as db:
        assert db.execute(select(Determination)).first() is None


def test_a_determination_in_the_meeting_reaches_the_case_with_the_meetings_link(
    app: Flask, world: World, seeded: Seeded
) -> None:
    fact = add_fact(app, world, seeded.north)
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north)
    browser = signed_in(app, world, "lead_ben")
    url = f"/meetings/{meeting_id}/items/{item_id}"
    answer = browser.submit(
        url,
        {
            "kind": "determination",
            "classification": "substantive_serious",
            "level": "high",
            "rationale": "A threat to a class, a grievance, no plan found.",
            "facts": str(fact),
        },
        action=f"{url}/determination",
    )
    assert answer.status_code == 302
    with app.extensions["btam"].stores.case_sessions() as db:
        row = db.execute(select(Determination)).scalar_one()
        assert row.status is DeterminationStatus.PENDING
    with acting_as(app, world, "lead_ben") as ctx:
        from btam.assessment import repository as assessment_repo

        people = {p.user_id for p in assessment_repo.participants(ctx.db, [row.id])}
    assert people == {uid(world, w) for w in EVERYONE}
    # Each participant confirms with their own sign-in, through the case's own flow.
    confirm(app, world, "member_gus", seeded.north, row.id)
    confirm(app, world, "officer_hal", seeded.north, row.id)
    case_page = browser.get(f"/cases/{seeded.north}").get_data(as_text=True)
    assert f'href="/meetings/{meeting_id}"' in case_page
    assert (
        f"Decided in meeting #{meeting_id}: Determination recorded (determination v1)" in case_page
    )
    with app.extensions["btam"].stores.case_sessions() as db:
        case = db.execute(select(Case).where(Case.number == seeded.north)).scalar_one()
        assert case.status is CaseStatus.MANAGEMENT and case.level == "high"
    linked = audit_entries(app, str(AuditAction.MEETING_DECISION_LINKED))
    assert [e.case_id for e in linked] == [case_id(app, seeded.north)]


def test_a_level_change_is_a_new_determination_linked_to_the_meeting(
    app: Flask, world: World, seeded: Seeded
) -> None:
    fact = add_fact(app, world, seeded.north)
    first = record(app, world, seeded.north, [fact], level="moderate")
    confirm(app, world, "member_gus", seeded.north, first)
    confirm(app, world, "officer_hal", seeded.north, first)
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    with acting_as(app, world, "lead_ben") as ctx:
        item_id = carry_out(ctx, agenda.add_case(ctx, meeting_id, seeded.north))
        with pytest.raises(ValidationFailed):
            decisions.decide_determination(
                ctx,
                meeting_id,
                item_id,
                classification="substantive_serious",
                level="moderate",
                rationale="Same.",
                facts=[fact],
                kind=decisions.DecisionKind.LEVEL_CHANGE,
            )
        ctx.db.rollback()
        second = carry_out(
            ctx,
            decisions.decide_determination(
                ctx,
                meeting_id,
                item_id,
                classification="substantive_serious",
                level="high",
                rationale="He was seen with a knife again.",
                facts=[fact],
                kind=decisions.DecisionKind.LEVEL_CHANGE,
            ),
        )
    confirm(app, world, "member_gus", seeded.north, second)
    confirm(app, world, "officer_hal", seeded.north, second)
    page = signed_in(app, world, "lead_ben").get(f"/cases/{seeded.north}").get_data(as_text=True)
    assert "Level of concern changed (new determination) (determination v2)" in page


def test_closing_from_the_meeting_goes_through_the_lifecycle_and_shows_in_the_case(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north_quiet)
    browser = signed_in(app, world, "lead_ben")
    url = f"/meetings/{meeting_id}/items/{item_id}"
    answer = browser.submit(
        url,
        {"reason": "The note was a song lyric.", "final_review": "Nothing else is open."},
        action=f"{url}/close",
    )
    assert answer.status_code == 302
    page = browser.get(f"/cases/{seeded.north_quiet}").get_data(as_text=True)
    assert f"Decided in meeting #{meeting_id}: Case closed" in page
    assert "Closed" in page
    changed = audit_entries(app, str(AuditAction.CASE_STATUS_CHANGED))
    assert [e.case_id for e in changed] == [case_id(app, seeded.north_quiet)]
    # Closed, the case takes no more minutes.
    with acting_as(app, world, "lead_ben") as ctx, pytest.raises(ValidationFailed):
        minutes.record_minutes(ctx, meeting_id, item_id, "After closing.")


def test_a_member_cannot_decide_for_the_meeting(app: Flask, world: World, seeded: Seeded) -> None:
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north_quiet)
    with acting_as(app, world, "member_gus") as ctx, pytest.raises(AccessDenied):
        decisions.close_case(
            ctx, meeting_id, item_id, reason="Not mine to close.", final_review="None."
        )


# --------------------------------------------------------------------------- minutes


def test_minutes_are_an_encrypted_education_record_printable_with_the_case(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, attendees=EVERYONE)
    item_id = item_for(app, meeting_id, ItemKind.ASSESSMENT, seeded.north)
    browser = signed_in(app, world, "member_gus")
    url = f"/meetings/{meeting_id}/items/{item_id}"
    body = "Team agreed on daily check-ins with Jordan; parents called Tuesday."
    assert browser.submit(url, {"body": body}, action=f"{url}/minutes").status_code == 302
    with app.extensions["btam"].stores.case_sessions() as db:
        row = db.execute(select(Minute)).scalar_one()
        raw = db.execute(select(Minute.__table__.c.body_enc)).scalar_one()
    assert row.record_class.value == "education" and body.encode() not in raw
    printed = browser.get(f"/meetings/cases/{seeded.north}/minutes")
    assert printed.status_code == 200 and body in printed.get_data(as_text=True)
    case_page = browser.get(f"/cases/{seeded.north}").get_data(as_text=True)
    assert f"Minutes of meeting #{meeting_id}" in case_page
    # Whoever may not read the case may not print its minutes.
    assert (
        signed_in(app, world, "outsider_dee")
        .get(f"/meetings/cases/{seeded.north}/minutes")
        .status_code
        == 404
    )
    assert audit_entries(app, str(AuditAction.MEETING_MINUTES_RECORDED))
    assert audit_entries(app, str(AuditAction.MEETING_MINUTES_PRINTED))


def test_the_meeting_page_shows_the_full_agenda_to_whoever_may_read_the_cases(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world)
    page = signed_in(app, world, "member_gus").get(f"/meetings/{meeting_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "bring a knife" in text and "locker" in text
    viewed = audit_entries(app, str(AuditAction.MEETING_RECORD_VIEWED))
    assert any(
        e.actor_id == uid(world, "member_gus") and e.object_id == str(meeting_id) for e in viewed
    )


def test_the_past_meeting_can_be_found_in_the_audit_by_ids_only(
    app: Flask, world: World, seeded: Seeded
) -> None:
    meeting_id = schedule_meeting(app, world, in_days=-1)
    scheduled = audit_entries(app, str(AuditAction.MEETING_RECORD_SCHEDULED))
    assert [e.object_id for e in scheduled] == [str(meeting_id)]
    assert all("Room" not in (e.purpose or "") for e in scheduled)
    built = audit_entries(app, str(AuditAction.MEETING_AGENDA_BUILT))
    assert built and built[0].purpose.endswith("items added")
