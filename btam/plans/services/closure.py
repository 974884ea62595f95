"""Closing a case: refused while anything is open, each thing named for the lead; a closing
rationale and a final review; then the lifecycle's CLOSE. The case stays findable in the
person's history (closing hides nothing).

Each check is a small function in :data:`CHECKS` returning what it finds open; a stage that
adds open things of its own (referrals, notifications) appends one function.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from btam.access.policy import Act
from btam.audit.actions import AuditAction
from btam.cases.lifecycle import CaseChange, Transition
from btam.cases.models import Case
from btam.cases.services.guard import load_case
from btam.cases.services.lifecycle import transition
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.plans import repository
from btam.plans.models import Review
from btam.plans.services import notifications, referrals
from btam.plans.services.calendar import today
from btam.plans.terms import FINISHED
from btam.text import clean_text

RATIONALE_MAX = 5_000
Check = Callable[[ServiceContext, Case], list[str]]


def open_plan_items(ctx: ServiceContext, case: Case) -> list[str]:
    """Plan items neither done nor discontinued."""
    rows = [r for r in repository.items(ctx.db, case.id) if r.status not in FINISHED]
    texts = repository.carried_texts(ctx.db, rows)
    return [
        f"plan item '{_item_name(r.description or texts.get(r.id), r.intervention.label)}' "
        f"is {r.status.label.lower()}"
        for r in rows
    ]


def overdue_review(ctx: ServiceContext, case: Case) -> list[str]:
    """A review whose date has passed."""
    schedule = repository.schedule(ctx.db, case.id)
    if schedule is not None and schedule.due_on < today(ctx):
        return [f"review overdue since {schedule.due_on.isoformat()}"]
    return []


def _item_name(text: str | None, fallback: str) -> str:
    name = (text or fallback).splitlines()[0] if (text or fallback) else fallback
    return name if len(name) <= 60 else name[:57] + "..."


# Appended to by stages with open things of their own; each returns one line per open thing.
CHECKS: tuple[Check, ...] = (
    open_plan_items,
    overdue_review,
    referrals.open_referrals,
    notifications.outstanding_notifications_of,
)


def open_things(ctx: ServiceContext, case: Case) -> list[str]:
    """Everything that keeps the case from closing, each named for the user."""
    return [line for check in CHECKS for line in check(ctx, case)]


def close_case(
    ctx: ServiceContext, number: str, *, rationale: str, final_review: str
) -> Staged[CaseStatus]:
    """The lead closes the case with a rationale and a final review, once nothing is open.

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case`` (the lead only).
    :raises ValidationFailed: no rationale or final review, or something still open (each
        thing named in the message).
    :raises InvalidTransition: the case's status does not allow closing.
    """
    loaded = load_case(ctx, number, Act.MANAGE_CASE, change=CaseChange.PLAN)
    case = loaded.case
    reason = clean_text(rationale, limit=RATIONALE_MAX, field="rationale", required=True)
    review = clean_text(final_review, limit=RATIONALE_MAX, field="final_review", required=True)
    still_open = open_things(ctx, case)
    if still_open:
        raise ValidationFailed(
            "The case cannot close while these are open: " + "; ".join(still_open) + ".",
            field="rationale",
        )
    row = Review(
        case_id=case.id,
        reviewed_by=loaded.access.actor.user_id,
        reviewed_at=ctx.now,
        changes=review,
        next_on=None,
        final=True,
    )
    ctx.db.add(row)
    ctx.db.flush()
    reviewed = staged(
        None,
        loaded.event(AuditAction.CASE_REVIEW_RECORDED, object_type="case_review", object_id=row.id),
    )
    closed = transition(ctx, loaded, Transition.CLOSE, reason=reason or "")
    return closed + reviewed


def review_overdue(ctx: ServiceContext, case_id: int) -> date | None:
    """The date of the case's overdue review, or None."""
    schedule = repository.schedule(ctx.db, case_id)
    return schedule.due_on if schedule is not None and schedule.due_on < today(ctx) else None
