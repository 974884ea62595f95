"""The management plan: items with owners in scope, the counselors' log and who reads it,
reviews on the level's cadence, monitoring and closure, the home page's work, the calendar.

Personas (tests/support/personas.py): lead_ben leads the North team (administrator);
member_gus is its mental-health member, officer_hal its law-enforcement member;
counselor_ana is a counselor at North High on no team, owner of the north case's check-in;
outsider_dee leads the South team at South Middle; teacher_cam is staff.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from btam.access.actor import Role
from btam.access.record_classes import RecordClass
from btam.accounts.models import User
from btam.accounts.services import users
from btam.assessment.services import determinations, facts
from btam.assessment.terms import FactSource, Method
from btam.cases.lifecycle import CaseClosed, Transition
from btam.cases.models import Case
from btam.cases.services import page
from btam.cases.services.guard import load_case
from btam.cases.services.lifecycle import transition
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext, carry_out
from btam.errors import AccessDenied, NotFound, ValidationFailed
from btam.meetings.models import AgendaItem
from btam.meetings.terms import ItemKind
from btam.people.models import Person
from btam.plans.models import LogEntry, NonSchoolDay, PlanItem, PlanProgress, Review
from btam.plans.referral_terms import Audience
from btam.plans.services import (
    calendar,
    closure,
    items,
    log,
    my_work,
    notifications,
    reviews,
)
from btam.plans.services.view import plan_view
from btam.plans.terms import Aim, Intervention, ItemStatus, LogKind, SupportPlan
from tests.support.cases import Seeded, acting_as, seed_cases
from tests.support.meetings import schedule_meeting
from tests.support.personas import PASSWORD, World, system_ctx
from tests.support.plans import drafted_referral
from tests.support.web import Browser, signed_in

PRIVATE = "Talked about his father's drinking; cried at the end."
SUMMARY = "Engaged for the whole session; agreed to come back Thursday."


@pytest.fixture
def seeded(app: Flask, world: World) -> Seeded:
    return seed_cases(app, world)


_BROWSERS: dict[tuple[int, str], Browser] = {}


def browser_of(app: Flask, world: World, who: str) -> Browser:
    """One signed-in browser per persona and app: TOTP codes cannot be reused at will."""
    key = (id(app), who)
    if key not in _BROWSERS:
        _BROWSERS[key] = signed_in(app, world, who)
    return _BROWSERS[key]


def text_of(app: Flask, world: World, who: str, url: str) -> tuple[int, str]:
    response = browser_of(app, world, who).get(url)
    return response.status_code, response.get_data(as_text=True)


def count(app: Flask, model: type) -> int:
    with app.extensions["btam"].stores.case_sessions() as db:
        return int(db.execute(select(func.count()).select_from(model)).scalar_one())


def item_data(owner_id: int, **changes: object) -> items.ItemData:
    data = items.ItemData(
        intervention=Intervention.SCHOOL_COUNSELING,
        description="Weekly counseling at school.",
        aim=Aim.SUBJECT,
        owner_id=owner_id,
        due_on=None,
    )
    return replace(data, **changes)  # type: ignore[arg-type]


def ctx_user(ctx: ServiceContext, username: str) -> int:
    return int(ctx.db.execute(select(User.id).where(User.username == username)).scalar_one())


def to_management(ctx: ServiceContext, number: str, level: str = "high") -> None:
    """The case under management at ``level``: a determination both participants confirm."""
    fact = carry_out(
        ctx,
        facts.add_fact(
            ctx,
            number,
            facts.FactData(
                source=FactSource.OBSERVATION,
                learned_on=ctx.now.date(),
                statement="Drew a knife on his binder.",
            ),
        ),
    )
    carry_out(
        ctx,
        determinations.record_determination(
            ctx,
            number,
            determinations.DeterminationData(
                classification="substantive_serious",
                level=level,
                rationale="A threat he may act on.",
                facts=[fact],
                participants=[
                    ctx_user(ctx, "member_gus"),
                    ctx_user(ctx, "officer_hal"),
                ],
            ),
        ),
    )


def confirm_all(app: Flask, world: World, number: str) -> None:
    for who in ("member_gus", "officer_hal"):
        with acting_as(app, world, who) as ctx:
            for t in determinations.to_confirm(ctx):
                if t.case_number == number:
                    carry_out(
                        ctx, determinations.respond(ctx, number, t.determination_id, confirm=True)
                    )


def manage(app: Flask, world: World, number: str, level: str = "high") -> None:
    """Put the case under management at ``level`` through the lifecycle, as a confirmed
    determination does."""
    with acting_as(app, world, "lead_ben") as ctx:
        loaded = load_case(ctx, number)
        carry_out(
            ctx,
            transition(ctx, loaded, Transition.BEGIN_MANAGEMENT, reason="Confirmed.", level=level),
        )


def log_as_ana(app: Flask, world: World, seeded: Seeded) -> None:
    item = f"/cases/{seeded.north}/plan/{seeded.assignment_id}"
    answer = browser_of(app, world, "counselor_ana").submit(
        item,
        {
            "held_on": date.today().isoformat(),
            "minutes": "40",
            "kind": "individual",
            "private_notes": PRIVATE,
            "team_summary": SUMMARY,
        },
        action=f"{item}/log",
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:400]


# --------------------------------------------------------------------------- the log


def test_private_log_notes_are_read_by_mental_health_and_their_author_only(
    app: Flask, world: World, seeded: Seeded
) -> None:
    log_as_ana(app, world, seeded)
    url = f"/cases/{seeded.north}"
    for who in ("counselor_ana", "member_gus"):
        status, html = text_of(app, world, who, url)
        assert status == 200 and PRIVATE.replace("'", "&#39;") in html and SUMMARY in html, who
    for who in ("lead_ben", "officer_hal"):
        status, html = text_of(app, world, who, url)
        assert status == 200 and SUMMARY in html, who
        assert "drinking" not in html, who
        assert "readable by the mental-health discipline and their author only" in html
    # The notes are stored encrypted, as a counseling record of the case.
    with app.extensions["btam"].stores.case_sessions() as db:
        raw = db.execute(select(LogEntry.__table__.c.private_notes_enc)).scalar_one()
    assert b"drinking" not in raw


def test_only_the_owner_logs_its_items_sessions(app: Flask, world: World, seeded: Seeded) -> None:
    with acting_as(app, world, "member_gus") as ctx, pytest.raises(NotFound):
        log.add_entry(
            ctx,
            seeded.north,
            seeded.assignment_id,
            log.LogData(date.today(), 20, LogKind.CHECK_IN, "", "Fine."),
        )
    assert count(app, LogEntry) == 0


def test_a_counselor_sees_the_minimum_header_its_own_items_and_its_own_log(
    app: Flask, world: World, seeded: Seeded
) -> None:
    gus = world.people["member_gus"].user_id
    with acting_as(app, world, "lead_ben") as ctx:
        other = carry_out(
            ctx,
            items.add_item(
                ctx, seeded.north, item_data(gus, description="Gus's own sessions with Jordan.")
            ),
        )
    with acting_as(app, world, "member_gus") as ctx:
        carry_out(
            ctx,
            log.add_entry(
                ctx,
                seeded.north,
                other,
                log.LogData(date.today(), 30, LogKind.INDIVIDUAL, "Gus private.", "Gus summary."),
            ),
        )
    log_as_ana(app, world, seeded)
    status, html = text_of(app, world, "counselor_ana", f"/cases/{seeded.north}")
    assert status == 200
    assert "Weekly check-in with the student" in html and SUMMARY in html
    for hidden in ("Gus&#39;s own sessions", "Gus summary", "Gus private", "Jordan", "knife"):
        assert hidden not in html, hidden
    # Her own item's progress notes are hers to read; another item's are not.
    with acting_as(app, world, "counselor_ana") as ctx:
        carry_out(
            ctx, items.add_progress(ctx, seeded.north, seeded.assignment_id, body="Ana's note.")
        )
    with acting_as(app, world, "member_gus") as ctx:
        carry_out(ctx, items.add_progress(ctx, seeded.north, other, body="Gus's note."))
    own = text_of(app, world, "counselor_ana", f"/cases/{seeded.north}/plan/{seeded.assignment_id}")
    assert "Ana&#39;s note." in own[1] and "Gus&#39;s note." not in own[1]
    # Another owner's item is not hers to open, nor to move on.
    assert text_of(app, world, "counselor_ana", f"/cases/{seeded.north}/plan/{other}")[0] == 404
    with acting_as(app, world, "counselor_ana") as ctx, pytest.raises(NotFound):
        items.set_status(ctx, seeded.north, other, status=ItemStatus.DONE)


# --------------------------------------------------------------------------- owners


def test_an_owner_outside_the_case_is_refused_with_the_reason(
    app: Flask, world: World, seeded: Seeded
) -> None:
    ctx = system_ctx(app)
    try:
        south_counselor = carry_out(
            ctx,
            users.create_user(
                ctx,
                data=users.UserData(
                    username="counselor_sol",
                    display_name="Sol Counselor",
                    role=Role.COUNSELOR,
                    discipline=None,
                    district_wide=False,
                    school_ids=(world.school_ids["SMS"],),
                ),
                password=PASSWORD,
            ),
        ).user_id
    finally:
        ctx.db.close()
    refused = {
        world.people["outsider_dee"].user_id: "Dee Outsider may not own this item",
        south_counselor: "Sol Counselor may not own this item",
        world.people["teacher_cam"].user_id: "Choose an active team member or counselor",
    }
    before = count(app, PlanItem)
    for owner, reason in refused.items():
        with acting_as(app, world, "lead_ben") as ctx, pytest.raises(ValidationFailed) as exc:
            items.add_item(ctx, seeded.north, item_data(owner))
        assert reason in str(exc.value) and exc.value.field == "owner_id"
    # Through the page: the form says why, and nothing is stored.
    url = f"/cases/{seeded.north}"
    answer = browser_of(app, world, "lead_ben").submit(
        url,
        {
            "intervention": "school_counseling",
            "aim": "subject",
            "owner_id": str(south_counselor),
            "description": "Sessions.",
        },
        action=f"{url}/plan",
    )
    assert answer.status_code == 400
    assert "Sol Counselor may not own this item" in answer.get_data(as_text=True)
    assert count(app, PlanItem) == before
    # A counselor of the case's school may own one.
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx, items.add_item(ctx, seeded.north, item_data(world.people["counselor_ana"].user_id))
        )
    assert count(app, PlanItem) == before + 1


def test_a_plan_aims_at_a_target_of_the_case_only(app: Flask, world: World, seeded: Seeded) -> None:
    gus = world.people["member_gus"].user_id
    with acting_as(app, world, "lead_ben") as ctx:
        with pytest.raises(ValidationFailed, match="target of this case"):
            items.add_item(
                ctx,
                seeded.north,
                item_data(gus, aim=Aim.TARGET, target_party_id=None),
            )
        ctx.db.rollback()
        # The subject's part in the case is no target.
        with pytest.raises(ValidationFailed, match="target of this case"):
            items.add_item(ctx, seeded.north, item_data(gus, aim=Aim.TARGET, target_party_id=1))


# --------------------------------------------------------------------------- IEP / 504


def test_a_disciplinary_removal_waits_for_the_504_teams_review(
    app: Flask, world: World, seeded: Seeded
) -> None:
    gus = world.people["member_gus"].user_id
    removal = item_data(gus, intervention=Intervention.ALTERNATIVE_PLACEMENT, description="")
    with acting_as(app, world, "lead_ben") as ctx:
        # Without an IEP or 504 plan, the removal may be planned.
        carry_out(ctx, items.add_item(ctx, seeded.north_quiet, removal))
        carry_out(ctx, items.set_support_plan(ctx, seeded.north, plan=SupportPlan.SECTION_504))
        with pytest.raises(ValidationFailed, match="IEP or a 504 plan") as exc:
            items.add_item(ctx, seeded.north, removal)
        assert exc.value.field == "intervention"
        ctx.db.rollback()
        carry_out(
            ctx,
            items.add_item(
                ctx,
                seeded.north,
                item_data(gus, intervention=Intervention.SPECIAL_EDUCATION_REVIEW),
            ),
        )
        carry_out(ctx, items.add_item(ctx, seeded.north, removal))
        view = plan_view(ctx, load_case(ctx, seeded.north))
    assert view.support_plan == "504 plan"
    # The status is stored encrypted on the person.
    with app.extensions["btam"].stores.case_sessions() as db:
        stored = db.execute(
            select(Person.__table__.c.support_plan_enc).where(Person.id == seeded.subject_id)
        ).scalar_one()
    assert stored and b"504" not in stored


# --------------------------------------------------------------------------- reviews


def test_the_next_review_follows_the_level_and_moves_when_it_changes(
    app: Flask, world: World, seeded: Seeded
) -> None:
    manage(app, world, seeded.north, level="high")
    with acting_as(app, world, "lead_ben") as ctx:
        today = calendar.today(ctx)
        assert plan_view(ctx, load_case(ctx, seeded.north)).next_review_on == today + timedelta(7)
        loaded = load_case(ctx, seeded.north)
        carry_out(
            ctx,
            transition(ctx, loaded, Transition.SET_LEVEL, reason="Worse.", level="imminent"),
        )
        assert plan_view(ctx, load_case(ctx, seeded.north)).next_review_on == today + timedelta(1)
        loaded = load_case(ctx, seeded.north)
        carry_out(ctx, transition(ctx, loaded, Transition.SET_LEVEL, reason="Calm.", level="low"))
        assert plan_view(ctx, load_case(ctx, seeded.north)).next_review_on == today + timedelta(30)
    # The district's cadence decides: its administrator sets moderate to 10 days.
    fay = signed_in(app, world, "admin_fay")
    answer = fay.submit(
        "/admin/district",
        {
            "assessment_model": "default",
            "time_zone": "UTC",
            "review_days_imminent": "1",
            "review_days_high": "5",
            "review_days_moderate": "10",
            "review_days_low": "20",
        },
    )
    assert answer.status_code == 302
    with acting_as(app, world, "lead_ben") as ctx:
        loaded = load_case(ctx, seeded.north)
        carry_out(
            ctx, transition(ctx, loaded, Transition.SET_LEVEL, reason="Up.", level="moderate")
        )
        assert plan_view(ctx, load_case(ctx, seeded.north)).next_review_on == today + timedelta(10)


def test_a_confirmed_determination_sets_the_first_review_date(
    app: Flask, world: World, seeded: Seeded
) -> None:
    with acting_as(app, world, "lead_ben") as ctx:
        to_management(ctx, seeded.north, level="high")
    confirm_all(app, world, seeded.north)
    with acting_as(app, world, "lead_ben") as ctx:
        view = plan_view(ctx, load_case(ctx, seeded.north))
        assert load_case(ctx, seeded.north).case.status is CaseStatus.MANAGEMENT
        assert view.next_review_on == calendar.today(ctx) + timedelta(7)


def test_a_review_records_who_what_and_the_next_date_within_the_cadence(
    app: Flask, world: World, seeded: Seeded
) -> None:
    manage(app, world, seeded.north, level="high")
    with acting_as(app, world, "member_gus") as ctx:
        today = calendar.today(ctx)
        with pytest.raises(ValidationFailed, match="no later than") as exc:
            reviews.record_review(
                ctx, seeded.north, changes="All well.", next_on=today + timedelta(30)
            )
        assert exc.value.field == "next_on"
        ctx.db.rollback()
        carry_out(
            ctx,
            reviews.record_review(
                ctx, seeded.north, changes="Check-ins kept.", next_on=today + timedelta(3)
            ),
        )
        view = plan_view(ctx, load_case(ctx, seeded.north))
    assert [(r.by, r.changes, r.next_on) for r in view.reviews] == [
        ("Gus Member", "Check-ins kept.", today + timedelta(3))
    ]
    assert view.next_review_on == today + timedelta(3)
    # A counselor does not review the case.
    with acting_as(app, world, "counselor_ana") as ctx, pytest.raises(AccessDenied):
        reviews.record_review(ctx, seeded.north, changes="Me too.")


# --------------------------------------------------------------------------- monitoring


def test_the_case_moves_to_monitoring_when_every_item_is_finished_and_back_with_a_new_one(
    app: Flask, world: World, seeded: Seeded
) -> None:
    manage(app, world, seeded.north)
    gus = world.people["member_gus"].user_id
    with acting_as(app, world, "lead_ben") as ctx:
        second = carry_out(ctx, items.add_item(ctx, seeded.north, item_data(gus)))
        with pytest.raises(ValidationFailed, match="required"):
            items.set_status(ctx, seeded.north, second, status=ItemStatus.DISCONTINUED)
        ctx.db.rollback()
        carry_out(
            ctx,
            items.set_status(
                ctx, seeded.north, second, status=ItemStatus.DISCONTINUED, reason="Clinic instead."
            ),
        )
        assert load_case(ctx, seeded.north).case.status is CaseStatus.MANAGEMENT
    with acting_as(app, world, "counselor_ana") as ctx:
        carry_out(
            ctx, items.set_status(ctx, seeded.north, seeded.assignment_id, status=ItemStatus.DONE)
        )
    with acting_as(app, world, "lead_ben") as ctx:
        case = load_case(ctx, seeded.north).case
        assert case.status is CaseStatus.MONITORING
        carry_out(ctx, items.add_item(ctx, seeded.north, item_data(gus)))
        assert load_case(ctx, seeded.north).case.status is CaseStatus.MANAGEMENT
        history = page.view_case(ctx, seeded.north).history
    assert [h.transition for h in history] == [
        Transition.BEGIN_MANAGEMENT,
        Transition.BEGIN_MONITORING,
        Transition.RESUME_MANAGEMENT,
    ]


# --------------------------------------------------------------------------- closure


def test_closing_is_refused_naming_each_open_thing(
    app: Flask, world: World, seeded: Seeded
) -> None:
    manage(app, world, seeded.north, level="high")
    with acting_as(app, world, "lead_ben") as ctx:
        later = replace(ctx, now=ctx.now + timedelta(days=9))
        due = calendar.today(ctx) + timedelta(days=7)
        with pytest.raises(ValidationFailed) as exc:
            closure.close_case(later, seeded.north, rationale="Done.", final_review="Done.")
        message = str(exc.value)
        assert "plan item 'Weekly check-in with the student' is planned" in message
        assert f"review overdue since {due.isoformat()}" in message
        later.db.rollback()
        carry_out(
            later,
            items.set_status(later, seeded.north, seeded.assignment_id, status=ItemStatus.DONE),
        )
        carry_out(later, reviews.record_review(later, seeded.north, changes="All quiet."))
        assert closure.open_things(later, load_case(later, seeded.north).case) == []
        carry_out(
            later,
            closure.close_case(
                later, seeded.north, rationale="Plan completed.", final_review="All items done."
            ),
        )
        view = plan_view(later, load_case(later, seeded.north))
        headers = {h.number: h.status for h in page.list_cases(later).items}
    assert headers[seeded.north] is CaseStatus.CLOSED  # still listed, still findable
    assert view.reviews[-1].final and view.reviews[-1].changes == "All items done."
    assert view.next_review_on is None
    # A closed case takes no plan change; reopening needs a reason (the lifecycle's).
    with acting_as(app, world, "lead_ben") as ctx, pytest.raises(CaseClosed):
        items.add_item(ctx, seeded.north, item_data(world.people["member_gus"].user_id))


def test_only_the_lead_closes(app: Flask, world: World, seeded: Seeded) -> None:
    for who in ("member_gus", "counselor_ana"):
        with acting_as(app, world, who) as ctx, pytest.raises((AccessDenied, NotFound)):
            closure.close_case(ctx, seeded.north_quiet, rationale="x", final_review="x")
    with app.extensions["btam"].stores.case_sessions() as db:
        assert (
            db.execute(select(Case.status).where(Case.number == seeded.north_quiet)).scalar_one()
            is CaseStatus.ASSESSMENT
        )


# --------------------------------------------------------------------------- the home page


def test_the_home_page_lists_overdue_items_and_the_leads_team_overdue_items(
    app: Flask, world: World, seeded: Seeded
) -> None:
    gus = world.people["member_gus"].user_id
    yesterday = date.today() - timedelta(days=2)
    with acting_as(app, world, "lead_ben") as ctx:
        late = carry_out(
            ctx,
            items.add_item(
                ctx,
                seeded.north,
                item_data(gus, description="Call the clinic about Jordan.", due_on=yesterday),
            ),
        )
        assert late
    manage(app, world, seeded.north, level="high")
    _, gus_home = text_of(app, world, "member_gus", "/dashboard")
    assert "Your plan items" in gus_home and "Call the clinic" in gus_home
    assert "overdue" in gus_home
    assert "Your team&#39;s overdue items" not in gus_home
    _, ben_home = text_of(app, world, "lead_ben", "/dashboard")
    assert "Your team&#39;s overdue items" in ben_home
    assert "Call the clinic about Jordan. — Gus Member" in ben_home
    assert "Reviews due" in ben_home
    _, ana_home = text_of(app, world, "counselor_ana", "/dashboard")
    assert "Weekly check-in with the student" in ana_home and "Call the clinic" not in ana_home
    _, cam_home = text_of(app, world, "teacher_cam", "/dashboard")
    assert "Your work today" not in cam_home


def test_my_work_comes_in_sections_from_providers(app: Flask, world: World, seeded: Seeded) -> None:
    with acting_as(app, world, "lead_ben") as ctx:
        to_management(ctx, seeded.north)
    with acting_as(app, world, "member_gus") as ctx:
        sections = {s.key: s for s in my_work.my_work(ctx)}
    assert "confirm" in sections and sections["confirm"].rows[0].case_number == seeded.north
    with acting_as(app, world, "counselor_ana") as ctx:
        carry_out(
            ctx,
            items.set_status(
                ctx, seeded.north, seeded.assignment_id, status=ItemStatus.IN_PROGRESS
            ),
        )
        keys = [s.key for s in my_work.my_work(ctx)]
    # An item going on with nothing logged this week asks for its log.
    assert keys == ["items", "logs"]


# --------------------------------------------------------------------------- the calendar


def test_school_days_skip_weekends_and_the_districts_non_school_days() -> None:
    friday = date(2026, 11, 27)
    assert calendar.add_school_days(friday, 1, ()) == date(2026, 11, 30)
    assert calendar.add_school_days(friday, 1, (date(2026, 11, 30),)) == date(2026, 12, 1)
    assert calendar.add_school_days(date(2026, 12, 1), 2, ()) == date(2026, 12, 3)


def test_the_administrator_keeps_the_calendar_and_triage_due_times_follow_it(
    app: Flask, world: World
) -> None:
    fay = signed_in(app, world, "admin_fay")
    with acting_as(app, world, "lead_ben") as ctx:
        today = calendar.today(ctx)
    nxt = calendar.add_school_days(today, 1, ())
    answer = fay.submit("/admin/calendar", {"day": nxt.isoformat(), "action": "add"})
    assert answer.status_code == 302
    assert nxt.isoformat() in fay.get("/admin/calendar").get_data(as_text=True)
    again = fay.submit("/admin/calendar", {"day": nxt.isoformat(), "action": "add"})
    assert again.status_code == 400 and "already" in again.get_data(as_text=True)
    with acting_as(app, world, "lead_ben") as ctx:
        due = calendar.school_days_after(ctx, ctx.now)
    assert due.date() == calendar.add_school_days(today, 1, (nxt,)) != nxt
    removed = fay.submit("/admin/calendar", {"day": nxt.isoformat(), "action": "remove"})
    assert removed.status_code == 302 and count(app, NonSchoolDay) == 0
    # No one else keeps it.
    assert signed_in(app, world, "lead_ben").get("/admin/calendar").status_code == 403


# --------------------------------------------------------------------------- hostile input

CONTROL = "Ordinary text\x1b[2J\x00 with control characters"
LONG = "x" * 20_001


def plan_forms(seeded: Seeded, world: World) -> dict[str, tuple[str, str, str, dict[str, str]]]:
    """name: (who, page, action, a valid form) for every form of the plan."""
    case = f"/cases/{seeded.north}"
    item = f"{case}/plan/{seeded.assignment_id}"
    return {
        "item": (
            "lead_ben",
            case,
            f"{case}/plan",
            {
                "intervention": "other",
                "description": "Check in daily.",
                "aim": "subject",
                "owner_id": str(world.people["member_gus"].user_id),
                "due_on": "",
            },
        ),
        "status": (
            "counselor_ana",
            item,
            f"{item}/status",
            {"status": "in_progress", "reason": ""},
        ),
        "progress": ("counselor_ana", item, f"{item}/progress", {"body": "Came on time."}),
        "log": (
            "counselor_ana",
            item,
            f"{item}/log",
            {
                "held_on": date.today().isoformat(),
                "minutes": "20",
                "kind": "check_in",
                "private_notes": "",
                "team_summary": "Fine.",
            },
        ),
        "support": ("lead_ben", case, f"{case}/support-plan", {"plan": "iep"}),
        "close": (
            "lead_ben",
            case,
            f"{case}/close",
            {"rationale": "Done.", "final_review": "Done."},
        ),
    }


HOSTILE: dict[str, list[dict[str, str]]] = {
    "item": [
        {"description": CONTROL},
        {"description": LONG},
        {"intervention": "expulsion"},
        {"aim": "everyone"},
        {"owner_id": "1 OR 1=1"},
        {"owner_id": "-5"},
        {"owner_id": "99999999"},
        {"due_on": "2026-02-30"},
        {"aim": "target", "target_party_id": "'; DROP TABLE plan_items; --"},
        {"intervention": "other", "description": "   "},
    ],
    "status": [{"status": "burned"}, {"status": "missed", "reason": ""}, {"reason": CONTROL}],
    "progress": [{"body": ""}, {"body": CONTROL}, {"body": LONG}],
    "log": [
        {"minutes": "-1"},
        {"minutes": "100000"},
        {"minutes": "ten"},
        {"held_on": "1999-01-01"},
        {"held_on": (date.today() + timedelta(days=3)).isoformat()},
        {"held_on": "<script>"},
        {"kind": "therapy"},
        {"team_summary": ""},
        {"private_notes": CONTROL},
        {"team_summary": LONG},
    ],
    "support": [{"plan": "gifted"}, {"plan": ""}],
    "close": [{"rationale": ""}, {"final_review": CONTROL}, {"rationale": LONG}],
}


def _hostile_params() -> list[object]:
    return [
        pytest.param(form, i, id=f"{form}-{i}")
        for form, cases in HOSTILE.items()
        for i in range(len(cases))
    ]


@pytest.mark.parametrize(("form", "index"), _hostile_params())
def test_every_plan_form_refuses_hostile_input_and_stores_nothing(
    app: Flask, world: World, seeded: Seeded, form: str, index: int
) -> None:
    who, page_url, action, valid = plan_forms(seeded, world)[form]
    before = {m: count(app, m) for m in (PlanItem, PlanProgress, LogEntry, Review)}
    with app.extensions["btam"].stores.case_sessions() as db:
        statuses_before = db.execute(select(PlanItem.status)).scalars().all()
    answer = browser_of(app, world, who).submit(
        page_url, {**valid, **HOSTILE[form][index]}, action=action
    )
    assert answer.status_code == 400, answer.get_data(as_text=True)[:300]
    html = answer.get_data(as_text=True)
    assert "Traceback" not in html
    if CONTROL in HOSTILE[form][index].values():
        assert "Remove the control characters from this field." in html
    assert {m: count(app, m) for m in before} == before
    with app.extensions["btam"].stores.case_sessions() as db:
        assert db.execute(select(PlanItem.status)).scalars().all() == statuses_before


@pytest.mark.parametrize(
    "hostile",
    [
        {"review_days_moderate": "0"},
        {"review_days_low": "91"},
        {"review_days_high": "\u0663"},  # an Arabic-Indic three: int() would take it
        {"review_days_high": "+3"},
        {"review_days_low": "3_000"},
        {"review_days_imminent": "10", "review_days_high": "5"},  # imminent reviewed less often
    ],
)
def test_the_review_cadence_refuses_hostile_input_and_keeps_the_districts(
    app: Flask, world: World, hostile: dict[str, str]
) -> None:
    fay = signed_in(app, world, "admin_fay")
    form = {
        "assessment_model": "default",
        "time_zone": "UTC",
        "review_days_imminent": "1",
        "review_days_high": "7",
        "review_days_moderate": "14",
        "review_days_low": "30",
    }
    answer = fay.submit("/admin/district", {**form, **hostile})
    assert answer.status_code == 400
    with acting_as(app, world, "lead_ben") as ctx:
        assert [
            reviews.cadence_days(ctx, lvl) for lvl in ("imminent", "high", "moderate", "low")
        ] == [
            1,
            7,
            14,
            30,
        ]


# ------------------------------------------------------------- on the team's meeting agenda


def test_reviews_due_and_overdue_plan_items_join_the_meetings_agenda(
    app: Flask, world: World, seeded: Seeded
) -> None:
    gus = world.people["member_gus"].user_id
    with acting_as(app, world, "lead_ben") as ctx:
        late = carry_out(
            ctx,
            items.add_item(
                ctx,
                seeded.north,
                item_data(gus, description="Call the clinic.", due_on=date.today() - timedelta(1)),
            ),
        )
        on_time = carry_out(
            ctx,
            items.add_item(
                ctx,
                seeded.north,
                item_data(
                    gus, description="Meet the parents.", due_on=date.today() + timedelta(30)
                ),
            ),
        )
    manage(app, world, seeded.north, level="imminent")  # reviewed daily: due by the meeting
    meeting = schedule_meeting(app, world, in_days=2)
    with app.extensions["btam"].stores.case_sessions() as db:
        north = db.execute(select(Case.id).where(Case.number == seeded.north)).scalar_one()
        agenda = [
            (i.kind, i.case_id, i.ref_id)
            for i in db.execute(select(AgendaItem).where(AgendaItem.meeting_id == meeting))
            .scalars()
            .all()
        ]
    assert (ItemKind.REVIEW_DUE, north, None) in agenda
    assert (ItemKind.PLAN_OVERDUE, north, late) in agenda
    assert (ItemKind.PLAN_OVERDUE, north, on_time) not in agenda


def test_an_open_referral_keeps_the_case_from_closing(
    app: Flask, world: World, seeded: Seeded
) -> None:
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx,
            items.set_status(ctx, seeded.north, seeded.assignment_id, status=ItemStatus.DONE),
        )
        drafted_referral(ctx, seeded.north)
        with pytest.raises(ValidationFailed) as refused:
            closure.close_case(ctx, seeded.north, rationale="Done.", final_review="Done.")
    assert "Referral" in str(refused.value) and "drafted" in str(refused.value)


# --------------------------------------------------------------------------- the timeline


def test_the_case_timeline_shows_plan_reviews_referrals_and_notices_by_label_only(
    app: Flask, world: World, seeded: Seeded
) -> None:
    manage(app, world, seeded.north)
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx,
            items.add_item(
                ctx,
                seeded.north,
                item_data(ctx_user(ctx, "member_gus"), intervention=Intervention.MENTORING),
            ),
        )
        carry_out(
            ctx,
            reviews.record_review(
                ctx,
                seeded.north,
                changes="Mentoring added.",
                next_on=calendar.today(ctx) + timedelta(3),
            ),
        )
        drafted_referral(ctx, seeded.north, reason="Counseling for a grievance against classmates.")
        carry_out(
            ctx,
            notifications.record_notification(
                ctx,
                seeded.north,
                audience=Audience.OTHER,
                about_person_id=None,
                recipient="The school nurse",
                notified_at=ctx.now,
                method=Method.IN_PERSON,
                summary="Told her of the plan's check-ins.",
            ),
        )
    _, text = text_of(app, world, "lead_ben", f"/cases/{seeded.north}")
    timeline = text[text.index('id="timeline-h"') : text.index('id="notes-h"')]
    for label in (
        "Plan item added: Mentoring",
        "Plan reviewed",
        "Referral #1 to community mental health drafted",
        "Notification given: Someone else",
    ):
        assert label in timeline, label
    # Labels only: what the records say stays in their own sections.
    for content in ("Mentoring added.", "grievance", "The school nurse", "check-ins"):
        assert content not in timeline, content
    # A counseling referral is in the timelines of those who may read it, and theirs only.
    with acting_as(app, world, "member_gus") as ctx:
        drafted_referral(ctx, seeded.north, reason="Therapy.", record_class=RecordClass.COUNSELING)
    _, clinician = text_of(app, world, "member_gus", f"/cases/{seeded.north}")
    assert "Referral #2 to community mental health drafted" in clinician
    _, lead = text_of(app, world, "lead_ben", f"/cases/{seeded.north}")
    assert "Referral #1" in lead and "Referral #2" not in lead
    # A counselor who owns an item sees the header and its own items, not the team's timeline.
    _, own = text_of(app, world, "counselor_ana", f"/cases/{seeded.north}")
    assert "Plan item added" not in own and "Referral #1" not in own
