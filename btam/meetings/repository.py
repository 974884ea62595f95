"""The only code that queries meetings, and the team's work their agendas are built from.

Meetings are found through the actor's scope (``btam.meetings.scope``): a meeting outside it
is the same as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from btam.access.policy import Access, Act, MeetingFacts
from btam.accounts.models import Team, team_schools
from btam.assessment.models import Determination
from btam.assessment.terms import DeterminationStatus
from btam.cases.models import Case, CaseStatusChange
from btam.cases.scope import readable_records
from btam.cases.terms import CaseStatus
from btam.ids import is_record_id
from btam.intake.models import Report
from btam.intake.terms import ReportStatus
from btam.meetings import scope
from btam.meetings.models import AgendaItem, Attendee, Meeting, MeetingDecision, Minute
from btam.plans.models import PlanItem, Review, ReviewSchedule
from btam.plans.referral_models import Referral
from btam.plans.referral_terms import OPEN_STATUSES, Destination
from btam.plans.terms import FINISHED, Intervention


def visible_meeting(db: Session, access: Access, meeting_id: int, act: Act) -> Meeting | None:
    """The meeting if the policy lets the actor ``act`` on it (None otherwise)."""
    if not is_record_id(meeting_id):
        return None
    query = select(Meeting).where(Meeting.id == meeting_id, scope.visible_meetings(access, act))
    return db.execute(query).scalar_one_or_none()


def meeting(db: Session, meeting_id: int) -> Meeting | None:
    return db.get(Meeting, meeting_id) if is_record_id(meeting_id) else None


def meeting_facts(db: Session, row: Meeting) -> MeetingFacts:
    guests = db.execute(
        select(Attendee.user_id).where(
            Attendee.meeting_id == row.id, Attendee.guest.is_(True), Attendee.user_id.is_not(None)
        )
    ).scalars()
    return MeetingFacts(row.id, row.team_id, frozenset(g for g in guests if g is not None))


def visible_meetings(db: Session, access: Access) -> Sequence[Meeting]:
    """Every meeting the actor may open, soonest first."""
    query = select(Meeting).where(scope.visible_meetings(access, Act.VIEW_MEETING))
    return db.execute(query.order_by(Meeting.starts_at, Meeting.id)).scalars().all()


def team(db: Session, team_id: int) -> Team | None:
    return db.get(Team, team_id) if is_record_id(team_id) else None


def teams(db: Session, team_ids: Iterable[int]) -> Sequence[Team]:
    wanted = sorted(set(team_ids))
    if not wanted:
        return []
    return db.execute(select(Team).where(Team.id.in_(wanted)).order_by(Team.name)).scalars().all()


def items(db: Session, meeting_id: int, *, removed: bool = False) -> Sequence[AgendaItem]:
    """The meeting's agenda in order (with the removed items too, if asked)."""
    query = select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
    if not removed:
        query = query.where(AgendaItem.removed_at.is_(None))
    return db.execute(query.order_by(AgendaItem.position, AgendaItem.id)).scalars().all()


def item(db: Session, meeting_id: int, item_id: int) -> AgendaItem | None:
    if not is_record_id(item_id):
        return None
    query = select(AgendaItem).where(
        AgendaItem.meeting_id == meeting_id,
        AgendaItem.id == item_id,
        AgendaItem.removed_at.is_(None),
    )
    return db.execute(query).scalar_one_or_none()


def next_position(db: Session, meeting_id: int) -> int:
    query = select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting_id)
    return int(db.execute(query).scalar_one() or 0) + 1


def attendees(db: Session, meeting_id: int) -> Sequence[Attendee]:
    query = select(Attendee).where(Attendee.meeting_id == meeting_id)
    return db.execute(query.order_by(Attendee.guest, Attendee.id)).scalars().all()


def attendee(db: Session, meeting_id: int, attendee_id: int) -> Attendee | None:
    if not is_record_id(attendee_id):
        return None
    query = select(Attendee).where(Attendee.meeting_id == meeting_id, Attendee.id == attendee_id)
    return db.execute(query).scalar_one_or_none()


def minutes(db: Session, meeting_id: int) -> Sequence[Minute]:
    query = select(Minute).where(Minute.meeting_id == meeting_id)
    return db.execute(query.order_by(Minute.created_at, Minute.id)).scalars().all()


def decisions(db: Session, meeting_id: int) -> Sequence[MeetingDecision]:
    query = select(MeetingDecision).where(MeetingDecision.meeting_id == meeting_id)
    return (
        db.execute(query.order_by(MeetingDecision.decided_at, MeetingDecision.id)).scalars().all()
    )


def minutes_of_case(db: Session, case_id: int) -> Sequence[tuple[Minute, Meeting]]:
    """Every minute about the case, with its meeting, in order."""
    query = (
        select(Minute, Meeting)
        .join(Meeting, Meeting.id == Minute.meeting_id)
        .where(Minute.case_id == case_id)
        .order_by(Meeting.starts_at, Minute.id)
    )
    return [(m, meeting) for m, meeting in db.execute(query).all()]


def decisions_of_case(db: Session, case_id: int) -> Sequence[tuple[MeetingDecision, Meeting]]:
    """Every decision a meeting took on the case, with its meeting, in order."""
    query = (
        select(MeetingDecision, Meeting)
        .join(Meeting, Meeting.id == MeetingDecision.meeting_id)
        .where(MeetingDecision.case_id == case_id)
        .order_by(MeetingDecision.decided_at, MeetingDecision.id)
    )
    return [(d, meeting) for d, meeting in db.execute(query).all()]


def plan_item_outline(
    db: Session, case_id: int, item_id: int
) -> tuple[Intervention, date | None] | None:
    """A plan item's intervention and due date (nothing of its description)."""
    query = select(PlanItem.intervention, PlanItem.due_on).where(
        PlanItem.case_id == case_id, PlanItem.id == item_id
    )
    row = db.execute(query).one_or_none()
    return None if row is None else (row[0], row[1])


def referral_destination(
    db: Session, access: Access, case_id: int, referral_id: int
) -> Destination | None:
    """Where a referral went, when the actor may read the referral (its record class)."""
    query = select(Referral.destination).where(
        Referral.case_id == case_id,
        Referral.id == referral_id,
        readable_records(access, Referral),
    )
    return db.execute(query).scalar_one_or_none()


def review_next_on(db: Session, case_id: int, review_id: int) -> date | None:
    """The next review date a review set (nothing of what it says)."""
    query = select(Review.next_on).where(Review.case_id == case_id, Review.id == review_id)
    return db.execute(query).scalar_one_or_none()


def latest_status_change(db: Session, case_id: int) -> CaseStatusChange | None:
    query = (
        select(CaseStatusChange)
        .where(CaseStatusChange.case_id == case_id)
        .order_by(CaseStatusChange.id.desc())
        .limit(1)
    )
    return db.execute(query).scalar_one_or_none()


def case_ids_of_team(db: Session, team_id: int, ids: Iterable[int]) -> set[int]:
    """Of ``ids``, the cases of the team."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    query = select(Case.id).where(Case.id.in_(wanted), Case.team_id == team_id)
    return set(db.execute(query).scalars())


# ---------------------------------------------------------------- the team's work, by source


def reports_awaiting_triage(db: Session, team_id: int) -> Sequence[Report]:
    """Reports of the team's schools still waiting for triage, oldest first."""
    schools = select(team_schools.c.school_id).where(team_schools.c.team_id == team_id)
    query = select(Report).where(
        Report.status == ReportStatus.RECEIVED, Report.school_id.in_(schools)
    )
    return db.execute(query.order_by(Report.received_at, Report.id)).scalars().all()


def cases_in_status(db: Session, team_id: int, status: CaseStatus) -> Sequence[Case]:
    query = select(Case).where(Case.team_id == team_id, Case.status == status)
    return db.execute(query.order_by(Case.opened_at, Case.id)).scalars().all()


def pending_determinations(db: Session, team_id: int) -> Sequence[tuple[Determination, Case]]:
    query = (
        select(Determination, Case)
        .join(Case, Case.id == Determination.case_id)
        .where(Case.team_id == team_id, Determination.status == DeterminationStatus.PENDING)
        .order_by(Determination.recorded_at, Determination.id)
    )
    return [(d, c) for d, c in db.execute(query).all()]


def open_cases(db: Session, team_id: int) -> Sequence[Case]:
    """The team's cases not closed, oldest first."""
    query = select(Case).where(Case.team_id == team_id, Case.status != CaseStatus.CLOSED)
    return db.execute(query.order_by(Case.opened_at, Case.id)).scalars().all()


def referrals_due(db: Session, team_id: int, by: date) -> Sequence[tuple[Referral, Case]]:
    """Open referrals of the team's cases whose follow-up falls by ``by``, soonest first."""
    query = (
        select(Referral, Case)
        .join(Case, Case.id == Referral.case_id)
        .where(
            Case.team_id == team_id,
            Referral.status.in_(OPEN_STATUSES),
            Referral.follow_up_on <= by,
        )
        .order_by(Referral.follow_up_on, Referral.id)
    )
    return [(r, c) for r, c in db.execute(query).all()]


def reviews_due(db: Session, team_id: int, by: date) -> Sequence[tuple[ReviewSchedule, Case]]:
    """The team's open cases whose next review falls by ``by``, soonest first."""
    query = (
        select(ReviewSchedule, Case)
        .join(Case, Case.id == ReviewSchedule.case_id)
        .where(
            Case.team_id == team_id,
            Case.status != CaseStatus.CLOSED,
            ReviewSchedule.due_on <= by,
        )
        .order_by(ReviewSchedule.due_on, Case.id)
    )
    return [(r, c) for r, c in db.execute(query).all()]


def plan_items_overdue(db: Session, team_id: int, on: date) -> Sequence[tuple[PlanItem, Case]]:
    """Plan items of the team's cases past their date and neither done nor discontinued."""
    query = (
        select(PlanItem, Case)
        .join(Case, Case.id == PlanItem.case_id)
        .where(
            Case.team_id == team_id,
            PlanItem.due_on < on,
            PlanItem.status.not_in(FINISHED),
        )
        .order_by(PlanItem.due_on, PlanItem.id)
    )
    return [(i, c) for i, c in db.execute(query).all()]


def cases_by_ids(db: Session, ids: Iterable[int]) -> dict[int, Case]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {c.id: c for c in db.execute(select(Case).where(Case.id.in_(wanted))).scalars()}


def reports_by_ids(db: Session, ids: Iterable[int]) -> dict[int, Report]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {r.id: r for r in db.execute(select(Report).where(Report.id.in_(wanted))).scalars()}


def team_has_meetings(db: Session, team_id: int) -> bool:
    query = select(Meeting.id).where(Meeting.team_id == team_id).limit(1)
    return db.execute(query).first() is not None
