"""Closed-loop referrals and notifications: a referral outside the school writes its record of
disclosure with the consent or legal basis chosen, or is refused; it stays open until the
service happened or the reason it did not is recorded; its letter carries the notice against
redisclosure; a substantive determination lists who must be told until each is recorded.

Personas (tests/support/personas.py): the north team is lead_ben (administrator),
member_gus (mental health) and officer_hal (law enforcement), at North High; outsider_dee
leads the south team; counselor_ana has work on the north case (its header only).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from btam.access.record_classes import RecordClass
from btam.assessment.services import determinations, facts
from btam.assessment.services.determinations import DeterminationData
from btam.assessment.services.facts import FactData
from btam.assessment.terms import FactSource, Method
from btam.audit.actions import AuditAction
from btam.cases.models import Case
from btam.cases.services import records
from btam.cases.services.guard import load_case
from btam.context import carry_out
from btam.errors import AccessDenied, NotFound, ValidationFailed
from btam.meetings.models import AgendaItem
from btam.meetings.terms import ItemKind
from btam.people.models import Disclosure
from btam.people.services.matching import PersonData
from btam.people.terms import DisclosureBasis, Part, PersonKind
from btam.plans.referral_models import Referral
from btam.plans.referral_terms import (
    Audience,
    Consent,
    Destination,
    History,
    ReferralMove,
    ReferralStatus,
)
from btam.plans.services import notifications, referrals
from btam.plans.services.referrals import ConsentData, ReferralData
from tests.support.cases import Seeded, acting_as, seed_cases
from tests.support.meetings import schedule_meeting
from tests.support.personas import World
from tests.support.stores import audit_entries
from tests.support.web import csrf_token, signed_in

CONSENT = ConsentData(
    Consent.OBTAINED,
    records="Attendance, the threat assessment summary",
    purpose="Counseling intake at the Riverside clinic",
    recipient="Riverside Family Clinic",
    given_on=date.today() - timedelta(days=1),
)
CPS_BASIS = ConsentData(
    Consent.NOT_NEEDED,
    legal_basis=DisclosureBasis.CHILD_PROTECTIVE_SERVICES,
    basis_statement="State law requires the report of suspected neglect.",
)


@pytest.fixture
def seeded(app: Flask, world: World) -> Seeded:
    return seed_cases(app, world)


def draft(
    app: Flask,
    world: World,
    number: str,
    *,
    consent: ConsentData = CONSENT,
    destination: Destination = Destination.COMMUNITY_MENTAL_HEALTH,
    who: str = "lead_ben",
    follow_up_on: date | None = None,
    record_class: RecordClass = RecordClass.EDUCATION,
) -> int:
    with acting_as(app, world, who) as ctx:
        return carry_out(
            ctx,
            referrals.draft_referral(
                ctx,
                number,
                ReferralData(
                    person_id=None,
                    destination=destination,
                    agency="Riverside Family Clinic",
                    contact="Dr. Imani Okoro, 555-0100",
                    reason="Counseling for anger and a grievance against classmates.",
                    consent=consent,
                    follow_up_on=follow_up_on or date.today() + timedelta(days=7),
                    record_class=record_class,
                ),
            ),
        )


def move(
    app: Flask,
    world: World,
    number: str,
    referral_id: int,
    step: ReferralMove,
    *,
    note: str = "",
    follow_up_on: date | None = None,
    who: str = "lead_ben",
) -> ReferralStatus:
    with acting_as(app, world, who) as ctx:
        return carry_out(
            ctx,
            referrals.move_referral(
                ctx, number, referral_id, move=step, note=note, follow_up_on=follow_up_on
            ),
        )


def disclosures(app: Flask) -> list[Disclosure]:
    with app.extensions["btam"].stores.case_sessions() as db:
        rows = list(db.execute(select(Disclosure).order_by(Disclosure.id)).scalars())
        for row in rows:
            _ = (row.recipient, row.interest, row.threat)
            db.expunge(row)
        return rows


def referral_row(app: Flask, referral_id: int) -> Referral:
    with app.extensions["btam"].stores.case_sessions() as db:
        row = db.get_one(Referral, referral_id)
        _ = (row.outcome, row.agency)
        db.expunge(row)
        return row


NEXT_WEEK = date.today() + timedelta(days=7)


# --------------------------------------------------------------------------- disclosure


def test_sending_with_consent_records_the_disclosure_on_the_consent(
    app: Flask, world: World, seeded: Seeded
) -> None:
    referral_id = draft(app, world, seeded.north)
    assert disclosures(app) == []
    status = move(app, world, seeded.north, referral_id, ReferralMove.SEND, follow_up_on=NEXT_WEEK)
    assert status is ReferralStatus.SENT
    [made] = disclosures(app)
    assert made.basis is DisclosureBasis.PARENT_CONSENT
    assert made.person_id == seeded.subject_id
    assert made.recipient is not None and "Riverside Family Clinic" in made.recipient
    assert (
        made.interest is not None and "Counseling intake at the Riverside clinic" in made.interest
    )
    assert not made.is_emergency
    assert referral_row(app, referral_id).disclosure_id == made.id
    [moved] = audit_entries(app, str(AuditAction.CASE_REFERRAL_MOVED))
    [recorded] = audit_entries(app, str(AuditAction.PERSON_DISCLOSURE_RECORDED))
    # One unit of work: the step and its disclosure are recorded together, in that order.
    assert recorded.seq == moved.seq + 1
    assert recorded.object_id == str(made.id)


def test_sending_on_a_legal_basis_records_that_basis_and_not_consent(
    app: Flask, world: World, seeded: Seeded
) -> None:
    referral_id = draft(
        app,
        world,
        seeded.north,
        consent=CPS_BASIS,
        destination=Destination.CHILD_PROTECTIVE_SERVICES,
    )
    move(app, world, seeded.north, referral_id, ReferralMove.SEND, follow_up_on=NEXT_WEEK)
    [made] = disclosures(app)
    assert made.basis is DisclosureBasis.CHILD_PROTECTIVE_SERVICES
    assert made.interest is not None and "suspected neglect" in made.interest


def test_an_emergency_basis_records_an_emergency_disclosure(
    app: Flask, world: World, seeded: Seeded
) -> None:
    emergency = ConsentData(
        Consent.NOT_NEEDED,
        legal_basis=DisclosureBasis.HEALTH_SAFETY_EMERGENCY,
        basis_statement="He said he would bring a knife on Friday.",
    )
    referral_id = draft(
        app, world, seeded.north, consent=emergency, destination=Destination.LAW_ENFORCEMENT
    )
    move(app, world, seeded.north, referral_id, ReferralMove.SEND, follow_up_on=NEXT_WEEK)
    [made] = disclosures(app)
    assert made.basis is DisclosureBasis.HEALTH_SAFETY_EMERGENCY
    assert made.is_emergency
    assert made.threat == "He said he would bring a knife on Friday."


@pytest.mark.parametrize(
    "consent",
    [
        ConsentData(Consent.REFUSED),
        # A refusal recorded after drafting replaces the consent the draft had.
        None,
    ],
)
def test_sending_outside_without_consent_or_basis_is_refused_and_changes_nothing(
    app: Flask, world: World, seeded: Seeded, consent: ConsentData | None
) -> None:
    referral_id = draft(app, world, seeded.north, consent=consent or CONSENT)
    if consent is None:
        with acting_as(app, world, "lead_ben") as ctx:
            carry_out(
                ctx,
                referrals.record_consent(
                    ctx, seeded.north, referral_id, ConsentData(Consent.REFUSED)
                ),
            )
    with pytest.raises(ValidationFailed, match="refused consent"):
        move(app, world, seeded.north, referral_id, ReferralMove.SEND, follow_up_on=NEXT_WEEK)
    assert disclosures(app) == []
    row = referral_row(app, referral_id)
    assert row.status is ReferralStatus.DRAFTED
    assert row.sent_at is None


def test_a_referral_to_the_districts_own_special_education_team_discloses_nothing(
    app: Flask, world: World, seeded: Seeded
) -> None:
    referral_id = draft(
        app,
        world,
        seeded.north,
        consent=ConsentData(Consent.REFUSED),
        destination=Destination.SPECIAL_EDUCATION_TEAM,
    )
    move(app, world, seeded.north, referral_id, ReferralMove.SEND, follow_up_on=NEXT_WEEK)
    assert disclosures(app) == []


@pytest.mark.parametrize(
    ("consent", "field"),
    [
        (
            ConsentData(Consent.OBTAINED, purpose="x", recipient="y", given_on=date.today()),
            "consent_records",
        ),
        (ConsentData(Consent.OBTAINED, records="x", purpose="y", recipient="z"), "consent_on"),
        (
            ConsentData(
                Consent.OBTAINED,
                records="x",
                purpose="y",
                recipient="z",
                given_on=date.today() + timedelta(days=2),
            ),
            "consent_on",
        ),
        (ConsentData(Consent.NOT_NEEDED, basis_statement="because"), "legal_basis"),
        (
            ConsentData(
                Consent.NOT_NEEDED,
                legal_basis=DisclosureBasis.PARENT_CONSENT,
                basis_statement="because",
            ),
            "legal_basis",
        ),
        (
            ConsentData(Consent.NOT_NEEDED, legal_basis=DisclosureBasis.SUBPOENA_OR_COURT_ORDER),
            "basis_statement",
        ),
    ],
)
def test_an_incomplete_consent_or_basis_is_refused_by_name(
    app: Flask, world: World, seeded: Seeded, consent: ConsentData, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        draft(app, world, seeded.north, consent=consent)
    assert refused.value.field == field


# --------------------------------------------------------------------------- the loop


def test_a_referral_stays_open_until_the_service_happened(
    app: Flask, world: World, seeded: Seeded
) -> None:
    referral_id = draft(app, world, seeded.north)
    with acting_as(app, world, "lead_ben") as ctx:
        case = load_case(ctx, seeded.north).case
        assert len(referrals.open_referrals(ctx, case)) == 1
    move(app, world, seeded.north, referral_id, ReferralMove.SEND, follow_up_on=NEXT_WEEK)
    move(app, world, seeded.north, referral_id, ReferralMove.ACCEPT, follow_up_on=NEXT_WEEK)
    with acting_as(app, world, "lead_ben") as ctx:
        [named] = referrals.open_referrals(ctx, load_case(ctx, seeded.north).case)
        assert "accepted" in named and NEXT_WEEK.isoformat() in named
    move(app, world, seeded.north, referral_id, ReferralMove.START_SERVICE, note="First session.")
    move(app, world, seeded.north, referral_id, ReferralMove.COMPLETE, note="Eight sessions.")
    with acting_as(app, world, "lead_ben") as ctx:
        assert referrals.open_referrals(ctx, load_case(ctx, seeded.north).case) == []
        assert referrals.referrals_to_follow_up(ctx) == []
    assert referral_row(app, referral_id).outcome == "Eight sessions."


@pytest.mark.parametrize("step", [ReferralMove.DECLINE, ReferralMove.CLOSE_WITHOUT_SERVICE])
def test_a_referral_closed_without_service_needs_its_reason(
    app: Flask, world: World, seeded: Seeded, step: ReferralMove
) -> None:
    referral_id = draft(app, world, seeded.north)
    move(app, world, seeded.north, referral_id, ReferralMove.SEND, follow_up_on=NEXT_WEEK)
    with pytest.raises(ValidationFailed) as refused:
        move(app, world, seeded.north, referral_id, step, note="   ")
    assert refused.value.field == "note"
    move(app, world, seeded.north, referral_id, step, note="The family moved out of county.")
    row = referral_row(app, referral_id)
    assert not row.status.open
    assert row.outcome == "The family moved out of county."


def test_an_open_referral_needs_its_next_follow_up_date(
    app: Flask, world: World, seeded: Seeded
) -> None:
    referral_id = draft(app, world, seeded.north)
    with pytest.raises(ValidationFailed) as refused:
        move(app, world, seeded.north, referral_id, ReferralMove.SEND)
    assert refused.value.field == "follow_up_on"
    with pytest.raises(ValidationFailed):
        move(
            app,
            world,
            seeded.north,
            referral_id,
            ReferralMove.SEND,
            follow_up_on=date.today() - timedelta(days=1),
        )
    assert disclosures(app) == []


def test_a_step_the_status_does_not_allow_is_refused(
    app: Flask, world: World, seeded: Seeded
) -> None:
    referral_id = draft(app, world, seeded.north)
    with pytest.raises(ValidationFailed, match="cannot take the step"):
        move(app, world, seeded.north, referral_id, ReferralMove.COMPLETE, note="Done.")
    assert referral_row(app, referral_id).status is ReferralStatus.DRAFTED


def test_an_overdue_follow_up_is_on_the_teams_list(
    app: Flask, world: World, seeded: Seeded
) -> None:
    referral_id = draft(app, world, seeded.north)
    with app.extensions["btam"].stores.case_write_sessions() as db:
        db.get_one(Referral, referral_id).follow_up_on = date.today() - timedelta(days=3)
        db.commit()
    for who in ("lead_ben", "member_gus"):
        with acting_as(app, world, who) as ctx:
            [item] = referrals.referrals_to_follow_up(ctx)
            assert item.case_number == seeded.north
            assert item.overdue
    # Outside the case's team: nothing.
    with acting_as(app, world, "outsider_dee") as ctx:
        assert referrals.referrals_to_follow_up(ctx) == []
    with acting_as(app, world, "counselor_ana") as ctx:
        assert referrals.referrals_to_follow_up(ctx) == []


def test_a_counseling_referral_is_read_by_mental_health_and_its_author_only(
    app: Flask, world: World, seeded: Seeded
) -> None:
    draft(app, world, seeded.north, who="member_gus", record_class=RecordClass.COUNSELING)
    with acting_as(app, world, "member_gus") as ctx:
        assert len(referrals.referrals_to_follow_up(ctx)) == 1
    for who in ("lead_ben", "officer_hal"):
        with acting_as(app, world, who) as ctx:
            assert referrals.referrals_to_follow_up(ctx) == []
    with pytest.raises(ValidationFailed):
        draft(app, world, seeded.north, who="lead_ben", record_class=RecordClass.COUNSELING)


def test_only_the_team_refers(app: Flask, world: World, seeded: Seeded) -> None:
    with pytest.raises(AccessDenied):
        draft(app, world, seeded.north, who="counselor_ana")
    with pytest.raises(NotFound):
        draft(app, world, seeded.north, who="outsider_dee")
    referral_id = draft(app, world, seeded.north)
    # The south lead names the north referral through the south case: unknown.
    with pytest.raises(NotFound):
        move(app, world, seeded.south, referral_id, ReferralMove.SEND, who="outsider_dee")


# --------------------------------------------------------------------------- the letter


def test_the_letter_carries_the_redisclosure_notice_and_no_script(
    app: Flask, world: World, seeded: Seeded
) -> None:
    referral_id = draft(app, world, seeded.north)
    browser = signed_in(app, world, "member_gus")
    response = browser.get(f"/cases/{seeded.north}/referrals/{referral_id}/letter")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "may not disclose this information to any other party" in html
    assert "34 CFR 99.33" in html
    assert "Riverside Family Clinic" in html
    assert "Draft — not sent yet." in html
    assert "<script" not in html.lower()
    assert " style=" not in html.lower()
    assert 'href="/static/css/letter.css"' in html
    assert "@media print" in browser.get("/static/css/letter.css").get_data(as_text=True)
    viewed = audit_entries(app, str(AuditAction.CASE_REFERRAL_LETTER_VIEWED))
    assert [e.object_id for e in viewed] == [str(referral_id)]


def test_the_letter_is_refused_outside_the_case(app: Flask, world: World, seeded: Seeded) -> None:
    referral_id = draft(app, world, seeded.north)
    url = f"/cases/{seeded.north}/referrals/{referral_id}/letter"
    assert signed_in(app, world, "outsider_dee").get(url).status_code == 404
    assert signed_in(app, world, "counselor_ana").get(url).status_code == 403
    wrong_case = f"/cases/{seeded.north_quiet}/referrals/{referral_id}/letter"
    assert signed_in(app, world, "lead_ben").get(wrong_case).status_code == 404


# --------------------------------------------------------------------------- pages


def test_the_team_drafts_and_sends_through_the_case_page(
    app: Flask, world: World, seeded: Seeded
) -> None:
    browser = signed_in(app, world, "lead_ben")
    page = f"/cases/{seeded.north}"
    html = browser.get(page).get_data(as_text=True)
    assert 'id="referrals-h"' in html and 'id="notifications-h"' in html
    response = browser.submit(
        page,
        {
            "destination": "community_mental_health",
            "agency": "Riverside Family Clinic",
            "reason": "Counseling for anger.",
            "consent": "not_needed",
            "legal_basis": "juvenile_justice",
            "basis_statement": "State law on juvenile justice referrals.",
            "follow_up_on": NEXT_WEEK.isoformat(),
            "record_class": "education",
        },
        action=f"{page}/referrals",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.extensions["btam"].stores.case_sessions() as db:
        referral_id = db.execute(select(func.max(Referral.id))).scalar_one()
    response = browser.submit(
        page,
        {"move": "send", "follow_up_on": NEXT_WEEK.isoformat()},
        action=f"{page}/referrals/{referral_id}/move",
    )
    assert response.status_code == 302
    [made] = disclosures(app)
    assert made.basis is DisclosureBasis.JUVENILE_JUSTICE
    html = browser.get(page).get_data(as_text=True)
    assert "recorded as a disclosure" in html


def test_a_refused_send_shows_the_case_page_again_with_the_reason(
    app: Flask, world: World, seeded: Seeded
) -> None:
    referral_id = draft(app, world, seeded.north, consent=ConsentData(Consent.REFUSED))
    browser = signed_in(app, world, "lead_ben")
    page = f"/cases/{seeded.north}"
    response = browser.submit(
        page,
        {"move": "send", "follow_up_on": NEXT_WEEK.isoformat()},
        action=f"{page}/referrals/{referral_id}/move",
    )
    assert response.status_code == 400
    assert "refused consent" in response.get_data(as_text=True)
    assert disclosures(app) == []


def test_the_manual_disclosure_form_preselects_no_basis(
    app: Flask, world: World, seeded: Seeded
) -> None:
    browser = signed_in(app, world, "lead_ben")
    person = f"/people/{seeded.subject_id}"
    html = browser.get(person).get_data(as_text=True)
    select_html = html[
        html.index('name="basis"') : html.index("</select>", html.index('name="basis"'))
    ]
    assert "selected" not in select_html
    assert '<option value="">' in select_html
    response = browser.submit(
        person,
        {
            "recipient": "Rivera family",
            "interest": "Parents asked for the plan.",
            "disclosed_on": date.today().isoformat(),
        },
        action=f"{person}/disclosures",
    )
    assert response.status_code == 400
    assert "Choose the legal basis." in response.get_data(as_text=True)
    assert disclosures(app) == []


# --------------------------------------------------------------------------- notifications


def add_person(
    app: Flask, world: World, number: str, part: Part, given: str, kind: PersonKind
) -> int:
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx,
            records.add_party(
                ctx,
                number,
                part=part,
                person=PersonData(kind=kind, given_name=given, family_name="Okafor"),
            ),
        )
        from btam.cases import repository as case_repo

        case = load_case(ctx, number).case
        return next(
            person.id
            for party, person in case_repo.parties(ctx.db, case.id)
            if party.part is part and person.given_name == given
        )


def determine(app: Flask, world: World, number: str, classification: str) -> None:
    with acting_as(app, world, "lead_ben") as ctx:
        fact = carry_out(
            ctx,
            facts.add_fact(
                ctx,
                number,
                FactData(
                    source=FactSource.OBSERVATION,
                    learned_on=date.today(),
                    statement="He named two classmates.",
                ),
            ),
        )
        carry_out(
            ctx,
            determinations.record_determination(
                ctx,
                number,
                DeterminationData(
                    classification=classification,
                    level="high",
                    rationale="A specific threat with named targets.",
                    facts=[fact],
                    participants=[
                        world.people["member_gus"].user_id,
                        world.people["officer_hal"].user_id,
                    ],
                ),
            ),
        )


def duties_of(app: Flask, world: World, number: str, who: str = "lead_ben") -> list[str]:
    with acting_as(app, world, who) as ctx:
        return notifications.outstanding_notifications_of(ctx, load_case(ctx, number).case)


def notify(
    app: Flask,
    world: World,
    number: str,
    audience: Audience,
    about: int | None,
    method: Method = Method.PHONE,
) -> int:
    with acting_as(app, world, "member_gus") as ctx:
        return carry_out(
            ctx,
            notifications.record_notification(
                ctx,
                number,
                audience=audience,
                about_person_id=about,
                recipient="Mrs. Okafor",
                notified_at=ctx.now,
                method=method,
                summary="Told of the threat and of the safety plan.",
            ),
        )


def test_a_substantive_determination_lists_each_target_and_the_parents_of_a_student(
    app: Flask, world: World, seeded: Seeded
) -> None:
    student_target = add_person(app, world, seeded.north, Part.TARGET, "Ada", PersonKind.STUDENT)
    staff_target = add_person(app, world, seeded.north, Part.TARGET, "Bea", PersonKind.STAFF)
    assert duties_of(app, world, seeded.north) == []
    determine(app, world, seeded.north, "substantive_serious")
    owed = duties_of(app, world, seeded.north)
    assert len(owed) == 3
    assert sum("Ada Okafor (target)" in o and "parents" not in o for o in owed) == 1
    assert sum("parents of Ada Okafor" in o for o in owed) == 1
    assert sum("Bea Okafor (target)" in o for o in owed) == 1
    assert not any("parents of Bea" in o for o in owed)
    with acting_as(app, world, "lead_ben") as ctx:
        work = {i.text for i in notifications.outstanding_notifications(ctx)}
    assert "Tell the parents of Ada Okafor (target)" in work
    assert "Tell Ada Okafor (target)" in work
    notify(app, world, seeded.north, Audience.TARGET, student_target)
    notify(app, world, seeded.north, Audience.TARGET_PARENTS, student_target)
    [left] = duties_of(app, world, seeded.north)
    assert "Bea Okafor" in left
    with acting_as(app, world, "officer_hal") as ctx:
        [item] = notifications.outstanding_notifications(ctx)
        assert item.case_number == seeded.north and not item.overdue
    with acting_as(app, world, "outsider_dee") as ctx:
        assert notifications.outstanding_notifications(ctx) == []
    notify(app, world, seeded.north, Audience.TARGET, staff_target)
    assert duties_of(app, world, seeded.north) == []


def test_a_transient_threat_owes_no_notification(app: Flask, world: World, seeded: Seeded) -> None:
    add_person(app, world, seeded.north, Part.TARGET, "Ada", PersonKind.STUDENT)
    determine(app, world, seeded.north, "transient")
    assert duties_of(app, world, seeded.north) == []


def test_staff_are_told_of_a_documented_history_in_writing(
    app: Flask, world: World, seeded: Seeded
) -> None:
    with acting_as(app, world, "officer_hal") as ctx:
        carry_out(
            ctx,
            notifications.record_history(
                ctx,
                seeded.north,
                person_id=seeded.subject_id,
                kind=History.WEAPON,
                documented_in="Discipline record of 2024-10-02: a knife in his backpack.",
            ),
        )
    [owed] = duties_of(app, world, seeded.north)
    assert "in writing before the assignment" in owed and "carrying a weapon" in owed
    with pytest.raises(ValidationFailed) as refused:
        notify(app, world, seeded.north, Audience.STAFF, seeded.subject_id, Method.PHONE)
    assert refused.value.field == "method"
    notify(app, world, seeded.north, Audience.STAFF, seeded.subject_id, Method.LETTER)
    assert duties_of(app, world, seeded.north) == []


def test_a_notification_names_a_person_of_the_case_in_the_right_part(
    app: Flask, world: World, seeded: Seeded
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        notify(app, world, seeded.north, Audience.TARGET, seeded.subject_id)
    assert refused.value.field == "about_person_id"
    with acting_as(app, world, "outsider_dee") as ctx:
        from btam.cases.services import page

        south_subject = page.view_case(ctx, seeded.south).parties[0].person_id
    with pytest.raises(ValidationFailed):
        notify(app, world, seeded.north, Audience.OTHER, south_subject)
    with pytest.raises(ValidationFailed):
        notify(app, world, seeded.north, Audience.STAFF, south_subject, Method.LETTER)


def test_recorded_and_outstanding_notifications_show_on_the_case_page(
    app: Flask, world: World, seeded: Seeded
) -> None:
    ada = add_person(app, world, seeded.north, Part.TARGET, "Ada", PersonKind.STUDENT)
    determine(app, world, seeded.north, "substantive_very_serious")
    browser = signed_in(app, world, "member_gus")
    page = f"/cases/{seeded.north}"
    response = browser.submit(
        page,
        {
            "audience": "target",
            "about_person_id": str(ada),
            "recipient": "Ada Okafor",
            "notified_on": date.today().isoformat(),
            "method": "in_person",
            "summary": "Told Ada of the threat and the safety plan.",
            "record_class": "education",
        },
        action=f"{page}/notifications",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    html = browser.get(page).get_data(as_text=True)
    assert "Told Ada of the threat and the safety plan." in html
    assert "The parents of Ada Okafor (target) — <strong>outstanding</strong>" in html
    token = csrf_token(html)
    assert token


# ------------------------------------------------------------- on the team's meeting agenda


def agenda_of(app: Flask, meeting_id: int) -> list[tuple[ItemKind, int | None, int | None]]:
    with app.extensions["btam"].stores.case_sessions() as db:
        rows = db.execute(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id))
        return [(i.kind, i.case_id, i.ref_id) for i in rows.scalars()]


def case_id_of(app: Flask, number: str) -> int:
    with app.extensions["btam"].stores.case_sessions() as db:
        return db.execute(select(Case.id).where(Case.number == number)).scalar_one()


def test_referrals_due_by_the_meeting_and_owed_notifications_join_its_agenda(
    app: Flask, world: World, seeded: Seeded
) -> None:
    due = draft(app, world, seeded.north, follow_up_on=date.today() + timedelta(days=1))
    later = draft(app, world, seeded.north, follow_up_on=date.today() + timedelta(days=30))
    add_person(app, world, seeded.north, Part.TARGET, "Ada", PersonKind.STUDENT)
    determine(app, world, seeded.north, "substantive_serious")
    north = case_id_of(app, seeded.north)
    agenda = agenda_of(app, schedule_meeting(app, world, in_days=3))
    follow_ups = {ref for kind, _case, ref in agenda if kind is ItemKind.REFERRAL_FOLLOW_UP}
    assert due in follow_ups and later not in follow_ups
    assert (ItemKind.NOTIFICATION, north, None) in agenda
    # Another team's meeting takes none of it.
    south = agenda_of(app, schedule_meeting(app, world, by="outsider_dee", team="south"))
    assert all(case != north for _kind, case, _ref in south)


def test_a_meeting_before_the_follow_up_date_does_not_list_it(
    app: Flask, world: World, seeded: Seeded
) -> None:
    referral = draft(app, world, seeded.north, follow_up_on=date.today() + timedelta(days=10))
    agenda = agenda_of(app, schedule_meeting(app, world, in_days=2))
    assert (ItemKind.REFERRAL_FOLLOW_UP, case_id_of(app, seeded.north), referral) not in agenda
