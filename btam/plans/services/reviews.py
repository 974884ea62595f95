"""Reviews of a case under management or monitoring: the next date from the level's cadence
(a district setting), moved when the level changes, and each review the team records."""

from __future__ import annotations

from datetime import date, timedelta

from btam.access.policy import Act
from btam.accounts import repository as accounts_repo
from btam.audit.actions import AuditAction
from btam.cases.lifecycle import CaseChange
from btam.cases.models import Case
from btam.cases.services.guard import load_case
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.plans import repository
from btam.plans.models import Review, ReviewSchedule
from btam.plans.services.calendar import today
from btam.plans.terms import DEFAULT_CADENCE
from btam.text import clean_text

CHANGES_MAX = 5_000
REVIEWED = frozenset({CaseStatus.MANAGEMENT, CaseStatus.MONITORING})
# The district's cadence has four columns; a model's other level names map onto them.
_CADENCE_COLUMN = {
    "imminent": "review_days_imminent",
    "high": "review_days_high",
    "moderate": "review_days_moderate",
    "medium": "review_days_moderate",
    "low": "review_days_low",
}


def cadence_days(ctx: ServiceContext, level: str | None) -> int:
    """Days from one review to the next at ``level`` (the district's setting or the default)."""
    key = (level or "moderate").lower()
    column = _CADENCE_COLUMN.get(key, "review_days_moderate")
    district = accounts_repo.first_district(ctx.db)
    if district is None:
        return DEFAULT_CADENCE.get(key, DEFAULT_CADENCE["moderate"])
    days: int = getattr(district, column)
    return days


def next_review_on(ctx: ServiceContext, level: str | None, *, after: date | None = None) -> date:
    """The date a review is due after ``after`` (today) at ``level``."""
    return (after or today(ctx)) + timedelta(days=cadence_days(ctx, level))


def reschedule(ctx: ServiceContext, case: Case, *, level_changed: bool) -> None:
    """Keep the case's next review date in step with its status and level.

    Called by the lifecycle on every transition: a case entering management or monitoring
    gets a date from its level's cadence; a new level moves the date; a case leaving them
    (assessment, closed) has none.
    """
    row = repository.schedule(ctx.db, case.id)
    if case.status not in REVIEWED:
        if row is not None:
            ctx.db.delete(row)
        return
    due = next_review_on(ctx, case.level)
    if row is None:
        ctx.db.add(ReviewSchedule(case_id=case.id, due_on=due, set_at=ctx.now))
    elif level_changed:
        row.due_on, row.set_at = due, ctx.now


def record_review(
    ctx: ServiceContext, number: str, *, changes: str, next_on: date | None = None
) -> Staged[int]:
    """The team records a review: what changed, and the next date (the cadence's if none).

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case`` (the team plans).
    :raises ValidationFailed: no account of what changed, a next date in the past or beyond
        the level's cadence, or a case not under management or monitoring.
    """
    loaded = load_case(ctx, number, Act.ASSIGN_WORK, change=CaseChange.PLAN)
    case = loaded.case
    if case.status not in REVIEWED:
        raise ValidationFailed("Reviews follow a case under management or monitoring.")
    text = clean_text(changes, limit=CHANGES_MAX, field="changes", required=True)
    latest = next_review_on(ctx, case.level)
    if next_on is not None and not today(ctx) < next_on <= latest:
        raise ValidationFailed(
            f"Choose a day after today and no later than {latest.isoformat()} (the level's "
            "cadence).",
            field="next_on",
        )
    due = next_on or latest
    row = Review(
        case_id=case.id,
        reviewed_by=loaded.access.actor.user_id,
        reviewed_at=ctx.now,
        changes=text,
        next_on=due,
    )
    ctx.db.add(row)
    schedule = repository.schedule(ctx.db, case.id)
    if schedule is None:
        ctx.db.add(ReviewSchedule(case_id=case.id, due_on=due, set_at=ctx.now))
    else:
        schedule.due_on, schedule.set_at = due, ctx.now
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(AuditAction.CASE_REVIEW_RECORDED, object_type="case_review", object_id=row.id),
    )
