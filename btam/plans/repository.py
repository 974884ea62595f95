"""The plan's queries: items, progress notes, log entries, reviews, schedules, calendar.

The only code that queries the plan's tables; the policy's filters come from the cases'
``scope`` module, so an item on a case the actor may not see never comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from btam.access.policy import Access, Act
from btam.cases import scope as case_scope
from btam.cases.models import Assignment, Case
from btam.people.models import Person
from btam.plans.models import LogEntry, NonSchoolDay, PlanItem, PlanProgress, Review, ReviewSchedule
from btam.plans.terms import FINISHED


def items(db: Session, case_id: int, *, owner_id: int | None = None) -> Sequence[PlanItem]:
    """The case's plan items (only ``owner_id``'s if given), oldest first."""
    query = select(PlanItem).where(PlanItem.case_id == case_id)
    if owner_id is not None:
        query = query.where(PlanItem.owner_id == owner_id)
    return db.execute(query.order_by(PlanItem.id)).scalars().all()


def item(db: Session, case_id: int, item_id: int) -> PlanItem | None:
    """The plan item ``item_id`` of the case ``case_id`` (None through another case)."""
    return db.execute(
        select(PlanItem).where(PlanItem.case_id == case_id, PlanItem.id == item_id)
    ).scalar_one_or_none()


def carried_texts(db: Session, rows: Iterable[PlanItem]) -> dict[int, str]:
    """The text of items carried over from work assignments, by item id."""
    ids = {r.assignment_id: r.id for r in rows if r.assignment_id is not None}
    if not ids:
        return {}
    found = db.execute(select(Assignment).where(Assignment.id.in_(sorted(ids)))).scalars()
    return {ids[a.id]: a.task or "" for a in found}


def progress(db: Session, case_id: int) -> Sequence[PlanProgress]:
    return (
        db.execute(
            select(PlanProgress).where(PlanProgress.case_id == case_id).order_by(PlanProgress.id)
        )
        .scalars()
        .all()
    )


def log_entries(db: Session, case_id: int, *, author_id: int | None = None) -> Sequence[LogEntry]:
    """The case's log entries (only ``author_id``'s if given), in the order they were held."""
    query = select(LogEntry).where(LogEntry.case_id == case_id)
    if author_id is not None:
        query = query.where(LogEntry.author_id == author_id)
    return db.execute(query.order_by(LogEntry.held_on, LogEntry.id)).scalars().all()


def reviews(db: Session, case_id: int) -> Sequence[Review]:
    return (
        db.execute(select(Review).where(Review.case_id == case_id).order_by(Review.id))
        .scalars()
        .all()
    )


def schedule(db: Session, case_id: int) -> ReviewSchedule | None:
    return db.get(ReviewSchedule, case_id)


def person(db: Session, person_id: int) -> Person | None:
    return db.get(Person, person_id)


def non_school_days(db: Session, district_id: int, *, since: date | None = None) -> Sequence[date]:
    """The district's non-school days (from ``since`` on), in order."""
    query = select(NonSchoolDay.day).where(NonSchoolDay.district_id == district_id)
    if since is not None:
        query = query.where(NonSchoolDay.day >= since)
    return db.execute(query.order_by(NonSchoolDay.day)).scalars().all()


def non_school_day(db: Session, district_id: int, day: date) -> NonSchoolDay | None:
    return db.execute(
        select(NonSchoolDay).where(NonSchoolDay.district_id == district_id, NonSchoolDay.day == day)
    ).scalar_one_or_none()


def own_open_items(db: Session, access: Access, owner_id: int) -> Sequence[tuple[PlanItem, Case]]:
    """Unfinished plan items ``owner_id`` owns, on cases the actor may see, by due date."""
    return _open_items(db, access, PlanItem.owner_id == owner_id)


def team_open_items(db: Session, access: Access) -> Sequence[tuple[PlanItem, Case]]:
    """Unfinished plan items on the cases the actor may view in full (its team's)."""
    return _open_items(
        db,
        access,
        PlanItem.case_id.in_(
            select(Case.id).where(case_scope.visible_cases(access, Act.VIEW_CASE))
        ),
    )


def _open_items(db: Session, access: Access, where: object) -> Sequence[tuple[PlanItem, Case]]:
    rows = db.execute(
        select(PlanItem, Case)
        .join(Case, Case.id == PlanItem.case_id)
        .where(
            where,  # type: ignore[arg-type]
            case_scope.visible_cases(access, Act.VIEW_HEADER),
            PlanItem.status.not_in(sorted(FINISHED)),
        )
        .order_by(PlanItem.due_on, PlanItem.id)
    ).all()
    return [(i, c) for i, c in rows]


def due_reviews(db: Session, access: Access) -> Sequence[tuple[ReviewSchedule, Case]]:
    """The next review of each case the actor may plan, by date."""
    rows = db.execute(
        select(ReviewSchedule, Case)
        .join(Case, Case.id == ReviewSchedule.case_id)
        .where(case_scope.visible_cases(access, Act.ASSIGN_WORK))
        .order_by(ReviewSchedule.due_on)
    ).all()
    return [(s, c) for s, c in rows]
