"""The only writer of a case's status and level of concern: every change is a transition of
``btam.cases.lifecycle``, audited and kept in the case's history with its reason."""

from __future__ import annotations

from btam.access.policy import Act
from btam.audit.actions import AuditAction
from btam.cases import lifecycle
from btam.cases.lifecycle import Transition
from btam.cases.models import CaseStatusChange
from btam.cases.services.guard import CaseInScope, load_case
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext, Staged, staged
from btam.plans.services import reviews
from btam.text import clean_text

REASON_MAX = 5_000
KEEP = object()


def transition(
    ctx: ServiceContext,
    loaded: CaseInScope,
    move: Transition,
    *,
    reason: str,
    level: str | object | None = KEEP,
) -> Staged[CaseStatus]:
    """Move the case by ``move`` (and set its level), keeping the change as history.

    The caller has loaded the case for the act the transition needs.

    :raises InvalidTransition: the case's status does not allow ``move``.
    :raises ValidationFailed: no reason, or a reason too long.
    """
    case = loaded.case
    text = clean_text(reason, limit=REASON_MAX, field="reason", required=True)
    before_status, before_level = case.status, case.level
    case.status = lifecycle.next_status(case.status, move)
    if level is not KEEP:
        case.level = level  # type: ignore[assignment]
    case.closed_at = ctx.now if case.status is CaseStatus.CLOSED else None
    change = CaseStatusChange(
        case_id=case.id,
        transition=move,
        from_status=before_status,
        to_status=case.status,
        from_level=str(before_level) if before_level else None,
        to_level=str(case.level) if case.level else None,
        reason=text,
        changed_at=ctx.now,
        changed_by=loaded.access.actor.user_id,
    )
    ctx.db.add(change)
    reviews.reschedule(ctx, case, level_changed=case.level != before_level)
    ctx.db.flush()
    return staged(
        case.status,
        loaded.event(
            AuditAction.CASE_STATUS_CHANGED,
            object_type="case_status_change",
            object_id=change.id,
            purpose=f"{move.value}: {before_status.value} to {case.status.value}",
        ),
    )


def change_status(
    ctx: ServiceContext, number: str, *, move: Transition, reason: str
) -> Staged[CaseStatus]:
    """The lead reopens the case, with a reason (closing is ``plans.services.closure``).

    :raises NotFound, AccessDenied: see ``load_case`` (only the lead may).
    :raises InvalidTransition: not a transition made by hand, or not from this status.
    :raises ValidationFailed: no reason.
    """
    loaded = load_case(ctx, number, Act.MANAGE_CASE)
    if move not in lifecycle.BY_HAND:
        raise lifecycle.InvalidTransition("That change follows from the team's work.")
    if move is Transition.CLOSE:
        # A closure needs its final review and nothing left open: btam.plans closes.
        raise lifecycle.InvalidTransition(
            "Close the case with its closing form: a rationale and a final review."
        )
    return transition(ctx, loaded, move, reason=reason)
