"""The demo team's meetings: yesterday's, with attendance, a guest, minutes and decisions
carried into the cases they changed (a new level of concern, a plan item with its owner and
due date, a review with its next date), and the next one with its agenda built from the work.

Everyone named here is invented. Each step goes through the meeting services (and, through
them, the case and assessment services), acting as the demo account that would do it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from btam.access.policy import Act
from btam.accounts import repository as accounts_repo
from btam.accounts.services import organisation
from btam.assessment.services import determinations
from btam.assessment.services import view as assessment_view
from btam.cases.services.guard import load_case
from btam.context import ServiceContext, Staged, carry_out
from btam.demo.case_assessments import AP, LEAD, OFFICER, PSYCH, TEACHER
from btam.demo.cases import BATHROOM_WALL, CASES, STAFF_EMAIL, acting_as
from btam.meetings import repository as meetings_repo
from btam.meetings.services import agenda, attendance, decisions, minutes, schedule
from btam.meetings.terms import DecisionKind, MeetingKind
from btam.plans.services import items
from btam.plans.terms import Aim, Intervention

T = TypeVar("T")

PLACE = "Riverbend High School, conference room B"
GUEST = "Dr. Helen Marsh"
GUEST_AFFILIATION = "Riverbend Family Clinic"
WALL_MINUTES = (
    "Daily check-ins with Ms. Ng continue and he keeps them. The clinic's intake is set for "
    "next week; Dr. Marsh will share what the family agrees to share. The plan stays."
)
WALL_CONFERENCE = (
    "Meet both parents after the clinic's intake: the check-ins, the chemistry schedule and "
    "what the clinic suggests."
)
WALL_REVIEW = (
    "Check-ins kept every school day; the schedule change holds; the clinic's intake is set. "
    "The level stays; a parent conference joins the plan."
)
EMAIL_MINUTES = (
    "Mr. Pryce has kept to the return-to-work agreement for six weeks and finished the "
    "employee assistance sessions. The principal reports no further incident."
)
EMAIL_RATIONALE = (
    "Six weeks back at work without incident, counseling completed, the principal and the "
    "union representative report a calm working relationship: the concern is now low."
)


def load_meetings(ctx: ServiceContext, *, team_id: int, numbers: tuple[str, ...]) -> None:
    """Load the demo meetings while the team has none and the demo cases were just loaded.

    ``ctx`` is the system's context; ``numbers`` the demo cases' numbers, oldest first.

    :raises AuditUnavailable: when a step cannot be recorded (the steps before it stay).
    """
    if meetings_repo.team_has_meetings(ctx.db, team_id) or len(numbers) < len(CASES):
        return
    ordered = sorted(CASES, key=lambda c: -c.opened_ago)
    by_summary = {c.summary: n for c, n in zip(ordered, numbers, strict=False)}

    def do(username: str, at: datetime, use_case: Callable[[ServiceContext], Staged[T]]) -> T:
        user = accounts_repo.user_by_username(ctx.db, username)
        assert user is not None, username  # noqa: S101  (the demo made every account)
        acting = acting_as(ctx, user, at)
        return carry_out(acting, use_case(acting))

    def uid(username: str) -> int:
        user = accounts_repo.user_by_username(ctx.db, username)
        assert user is not None, username  # noqa: S101
        return user.id

    now = ctx.now
    held = now - timedelta(days=1)
    past = do(
        LEAD,
        held - timedelta(days=5),
        lambda c: schedule.schedule_meeting(
            c, team_id=team_id, starts_at=held, place=PLACE, kind=MeetingKind.REGULAR
        ),
    )
    wall = by_summary[BATHROOM_WALL.summary]
    email = by_summary[STAFF_EMAIL.summary]
    wall_item = do(LEAD, held, lambda c: agenda.add_case(c, past, wall))
    email_item = do(LEAD, held, lambda c: agenda.add_case(c, past, email))
    for who in (LEAD, PSYCH, OFFICER, AP, TEACHER):
        attendee = do(
            LEAD, held, partial(attendance.add_attendee, meeting_id=past, user_id=uid(who))
        )
        do(LEAD, held, partial(attendance.acknowledge, meeting_id=past, attendee_id=attendee))
    guest = do(
        LEAD,
        held,
        lambda c: attendance.add_guest(c, past, name=GUEST, affiliation=GUEST_AFFILIATION),
    )
    do(LEAD, held, lambda c: attendance.acknowledge(c, past, guest))
    do(LEAD, held, lambda c: agenda.share_item(c, past, wall_item, shared=True))
    minute_at = held + timedelta(minutes=20)
    do(PSYCH, minute_at, lambda c: minutes.record_minutes(c, past, wall_item, WALL_MINUTES))
    do(AP, minute_at, lambda c: minutes.record_minutes(c, past, email_item, EMAIL_MINUTES))

    # The team lowers the staff member's level of concern through a new determination, which
    # each participant confirms in the room with their own sign-in.
    decided_at = held + timedelta(minutes=35)
    user = accounts_repo.user_by_username(ctx.db, LEAD)
    assert user is not None  # noqa: S101
    reader = acting_as(ctx, user, decided_at)
    view = assessment_view.assessment_view(reader, load_case(reader, email, Act.ASSESS))
    facts = [f.series_id for f in view.facts] if view is not None else []
    determination = do(
        LEAD,
        decided_at,
        lambda c: decisions.decide_determination(
            c,
            past,
            email_item,
            classification="transient",
            level="low",
            rationale=EMAIL_RATIONALE,
            facts=facts,
            kind=DecisionKind.LEVEL_CHANGE,
        ),
    )
    for who in (PSYCH, OFFICER, AP):
        do(
            who,
            decided_at + timedelta(minutes=2),
            lambda c: determinations.respond(c, email, determination, confirm=True),
        )

    # The restroom-wall case: the team adds a parent conference to the plan once the clinic's
    # intake is done, and records its review (the next date from the level's cadence).
    planned_at = held + timedelta(minutes=45)
    do(
        LEAD,
        planned_at,
        lambda c: decisions.add_plan_item(
            c,
            past,
            wall_item,
            items.ItemData(
                intervention=Intervention.PARENT_CONFERENCE,
                description=WALL_CONFERENCE,
                aim=Aim.SUBJECT,
                owner_id=uid(PSYCH),
                due_on=organisation.local_day(c, planned_at + timedelta(days=9)),
            ),
        ),
    )
    do(
        LEAD,
        planned_at + timedelta(minutes=3),
        lambda c: decisions.review(c, past, wall_item, changes=WALL_REVIEW),
    )

    # Thursday's meeting: its agenda built from the team's work as it stands now.
    upcoming = do(
        LEAD,
        now,
        lambda c: schedule.schedule_meeting(
            c,
            team_id=team_id,
            starts_at=now + timedelta(days=2),
            place=PLACE,
            kind=MeetingKind.REGULAR,
        ),
    )
    do(LEAD, now, lambda c: agenda.build_agenda(c, upcoming))
