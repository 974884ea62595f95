"""The demo's meetings: yesterday's, whose minutes and decisions show in the cases they
changed, and the next one with its agenda built; the printed agendas name no demo person."""

from __future__ import annotations

from flask import Flask, render_template
from sqlalchemy import select

from btam.accounts.models import User
from btam.cases.models import Case
from btam.cases.services.guard import load_case
from btam.demo import DemoResult
from btam.demo.cases import BATHROOM_WALL, CASES, STAFF_EMAIL
from btam.demo.meetings import GUEST, WALL_REVIEW
from btam.meetings.services import schedule
from btam.meetings.services import view as meetings_view
from btam.meetings.terms import DecisionKind, ItemKind
from btam.people.models import Person
from btam.plans.services.view import plan_view
from tests.functional.test_demo import acting_as, demo, system

__all__ = ["demo"]  # the fixture, loaded once per test


def _number(demo: DemoResult, summary: str) -> str:
    ordered = sorted(CASES, key=lambda c: -c.opened_ago)
    return dict(zip((c.summary for c in ordered), demo.cases, strict=False))[summary]


def test_a_past_meeting_whose_decisions_show_in_the_cases_and_an_upcoming_agenda(
    app: Flask, demo: DemoResult
) -> None:
    email = _number(demo, STAFF_EMAIL.summary)
    wall = _number(demo, BATHROOM_WALL.summary)
    with acting_as(app, "lead.okafor") as ctx:
        listing = schedule.list_meetings(ctx)
        assert len(listing.past) == 1 and len(listing.upcoming) == 1
        past = meetings_view.meeting_page(ctx, listing.past[0].id)
        assert past.quorum is not None and past.quorum.met
        assert any(a.guest and a.name == GUEST for a in past.attendees)
        assert all(a.acknowledged_at is not None for a in past.attendees)
        by_case = {i.case_number: i for i in past.items}
        assert by_case[wall].shared and by_case[wall].minutes
        assert [d.kind for d in by_case[email].decisions] == [DecisionKind.LEVEL_CHANGE]
        timeline = meetings_view.case_timeline(ctx, load_case(ctx, email))
        assert any(t.meeting_id == past.header.id and "Decided" in t.text for t in timeline)
        # The restroom-wall case: a plan item and a review, through the meeting's decisions.
        assert [d.kind for d in by_case[wall].decisions] == [
            DecisionKind.PLAN_ITEM,
            DecisionKind.REVIEW,
        ]
        wall_case = load_case(ctx, wall)
        decided = [
            t.text
            for t in meetings_view.case_timeline(ctx, wall_case)
            if t.meeting_id == past.header.id and t.text.startswith("Decided")
        ]
        assert any("Plan item added (Parent conference, due" in t for t in decided), decided
        assert any("Review recorded (next review" in t for t in decided), decided
        plan = plan_view(ctx, wall_case)
        assert any(i.intervention == "Parent conference" and i.due_on for i in plan.items)
        assert any(r.changes == WALL_REVIEW for r in plan.reviews)
        upcoming = meetings_view.meeting_page(ctx, listing.upcoming[0].id)
        kinds = {i.kind for i in upcoming.items}
        assert {ItemKind.TRIAGE, ItemKind.ASSESSMENT, ItemKind.CONFIRMATION} <= kinds
    with system(app) as ctx:
        level = ctx.db.execute(select(Case.level).where(Case.number == email)).scalar_one()
    assert level == "low"  # the meeting's new determination, confirmed by every participant


def test_the_printed_agendas_name_no_demo_person(app: Flask, demo: DemoResult) -> None:
    with system(app) as ctx:
        people = ctx.db.execute(select(Person)).scalars().all()
        names = {n for p in people for n in (p.given_name, p.family_name) if n}
        names |= {u.display_name for u in ctx.db.execute(select(User)).scalars()}
        summaries = {c.summary[:40] for c in ctx.db.execute(select(Case)).scalars() if c.summary}
    names |= set(GUEST.split())
    with acting_as(app, "lead.okafor") as ctx:
        listing = schedule.list_meetings(ctx)
        printed = [
            meetings_view.printed_agenda(ctx, m.id) for m in (*listing.past, *listing.upcoming)
        ]
    for agenda in printed:
        assert agenda.rows
        with app.test_request_context("/"):
            page = render_template("meetings/print.html", printed=agenda)
        found = [w for w in (*names, *summaries) if len(w) > 2 and w in page]
        assert not found, found
