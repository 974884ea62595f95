"""Decisions the meeting takes on a case, carried out by the case's own services and linked
back to the meeting (the case's timeline shows the link).

Each decision is one small function: load the item as the meeting's lead, call the service
the case page calls, then :func:`link_decision`. The plans stage adds its own the same way —
a plan item with owner and date (``DecisionKind.PLAN_ITEM``), a referral (``REFERRAL``), a
review with its next date (``REVIEW``) — passing the id of the record it made as ``ref_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

from btam.access.policy import Act
from btam.assessment.services import determinations
from btam.assessment.services.common import assessing
from btam.audit.actions import AuditAction
from btam.cases import repository as case_repo
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.meetings import repository
from btam.meetings.models import AgendaItem, MeetingDecision
from btam.meetings.services.agenda import loaded_item
from btam.meetings.services.common import MeetingInScope
from btam.meetings.terms import DecisionKind
from btam.plans.services import closure


def _case_number(ctx: ServiceContext, item: AgendaItem) -> str:
    if item.case_id is None:
        raise ValidationFailed("Decisions are taken on an item about a case.")
    return case_repo.case_by_id(ctx.db, item.case_id).number


def link_decision(
    ctx: ServiceContext,
    loaded: MeetingInScope,
    item: AgendaItem,
    kind: DecisionKind,
    *,
    determination_id: int | None = None,
    status_change_id: int | None = None,
    ref_id: int | None = None,
) -> Staged[int]:
    """Keep the link from what a case's service made to the meeting and item that decided it.

    :raises ValidationFailed: the item is about no case.
    """
    if item.case_id is None:
        raise ValidationFailed("Decisions are taken on an item about a case.")
    row = MeetingDecision(
        meeting_id=loaded.meeting.id,
        item_id=item.id,
        case_id=item.case_id,
        kind=kind,
        determination_id=determination_id,
        status_change_id=status_change_id,
        ref_id=ref_id,
        decided_by=loaded.access.actor.user_id,
        decided_at=ctx.now,
    )
    ctx.db.add(row)
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.MEETING_DECISION_LINKED,
            object_type="meeting_decision",
            object_id=row.id,
            case_id=item.case_id,
            purpose=kind.value,
        ),
    )


def qualifying_attendees(
    ctx: ServiceContext, loaded: MeetingInScope, number: str
) -> list[tuple[int, str]]:
    """Members present who may take part in a determination on the case: (id, label)."""
    present = {
        a.user_id
        for a in repository.attendees(ctx.db, loaded.meeting.id)
        if not a.guest and a.user_id is not None
    }
    case = assessing(ctx, number)
    return [
        (c.user_id, f"{c.name} ({c.discipline})")
        for c in determinations.candidates(ctx, case)
        if c.user_id in present
    ]


def decide_determination(
    ctx: ServiceContext,
    meeting_id: int,
    item_id: int,
    *,
    classification: str,
    level: str,
    rationale: str,
    facts: Sequence[int],
    kind: DecisionKind = DecisionKind.DETERMINATION,
) -> Staged[int]:
    """Record the meeting's determination on the item's case (a level change is a new one);
    its participants are the qualifying members present, each of whom still confirms it with
    their own sign-in. The value is the determination's id.

    :raises NotFound, AccessDenied: see ``loaded_item`` and ``load_case`` (the lead only).
    :raises CaseClosed: the case is closed.
    :raises QuorumMissing: the members present do not make the quorum.
    :raises ValidationFailed: the lead is not recorded as present, the level is unchanged
        (for a level change), or what ``record_determination`` refuses.
    """
    loaded, item = loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    number = _case_number(ctx, item)
    participants = [user_id for user_id, _ in qualifying_attendees(ctx, loaded, number)]
    if loaded.access.actor.user_id not in participants:
        raise ValidationFailed("Record yourself as present before recording a determination.")
    if kind is DecisionKind.LEVEL_CHANGE:
        current = case_repo.case_by_id(ctx.db, item.case_id or 0).level
        if current == level:
            raise ValidationFailed("Choose a level other than the case's.", field="level")
    made = determinations.record_determination(
        ctx,
        number,
        determinations.DeterminationData(
            classification=classification,
            level=level,
            rationale=rationale,
            facts=facts,
            participants=participants,
        ),
    )
    link = link_decision(ctx, loaded, item, kind, determination_id=made.value)
    return staged(made.value, *made.events, *link.events)


def close_case(
    ctx: ServiceContext, meeting_id: int, item_id: int, *, reason: str, final_review: str
) -> Staged[int]:
    """Close the item's case as the case page does (a rationale, a final review, nothing left
    open); the value is the decision's id.

    :raises NotFound, AccessDenied: see ``loaded_item`` and ``close_case`` (the lead of the
        meeting, and of the case).
    :raises InvalidTransition: the case's status does not allow closing.
    :raises ValidationFailed: no reason or final review, or something still open (named).
    """
    loaded, item = loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    number = _case_number(ctx, item)
    moved = closure.close_case(ctx, number, rationale=reason, final_review=final_review)
    change = repository.latest_status_change(ctx.db, item.case_id or 0)
    link = link_decision(
        ctx, loaded, item, DecisionKind.CLOSURE, status_change_id=change.id if change else None
    )
    return staged(link.value, *moved.events, *link.events)
