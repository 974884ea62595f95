"""Decisions the meeting takes on a case, carried out by the case's own services and linked
back to the meeting (the case's timeline shows the link).

Each decision is one small function: load the item as the meeting's lead, call the service
the case page calls, then :func:`link_decision`. The plans' decisions — a plan item with owner
and date (``DecisionKind.PLAN_ITEM``), a referral (``REFERRAL``), a review with its next date
(``REVIEW``) — pass the id of the record they made as ``ref_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from btam.access.policy import Act
from btam.assessment.services import determinations
from btam.assessment.services.common import assessing
from btam.audit.actions import AuditAction
from btam.cases import repository as case_repo
from btam.cases.services.guard import CaseInScope, load_case
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.meetings import dto, repository
from btam.meetings.models import AgendaItem, MeetingDecision
from btam.meetings.services.agenda import loaded_item
from btam.meetings.services.common import MeetingInScope
from btam.meetings.terms import DecisionKind
from btam.plans.services import closure, items, referrals, reviews


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


def case_choices(ctx: ServiceContext, loaded: CaseInScope) -> dto.PlanChoices:
    """What the plan item and referral forms offer on the case: the owners the plans allow,
    its targets and its people."""
    case_id = loaded.case.id
    people = {person.id: person.full_name for _p, person in case_repo.parties(ctx.db, case_id)}
    return dto.PlanChoices(
        owners=items.owner_choices(ctx, loaded),
        targets=items.target_choices(ctx, case_id),
        people=[(str(i), name) for i, name in people.items()],
    )


def plan_choices(ctx: ServiceContext, meeting_id: int, item_id: int) -> dto.PlanChoices:
    """:func:`case_choices` of the item's case, for the meeting's lead (none for an item about
    no case). Nothing is recorded: the decision that follows is.

    :raises NotFound, AccessDenied: see ``loaded_item`` (the meeting's lead) and ``load_case``.
    """
    _loaded, item = loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    if item.case_id is None:
        return dto.PlanChoices()
    return case_choices(ctx, load_case(ctx, _case_number(ctx, item), Act.VIEW_CASE))


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


def _decided(
    ctx: ServiceContext,
    meeting_id: int,
    item_id: int,
    kind: DecisionKind,
    make: Callable[[str], Staged[int]],
) -> Staged[int]:
    """Load the item as the meeting's lead, let ``make`` record on its case (by number) what
    the case page would, and link the record made to the meeting; the value is its id."""
    loaded, item = loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    made = make(_case_number(ctx, item))
    link = link_decision(ctx, loaded, item, kind, ref_id=made.value)
    return staged(made.value, *made.events, *link.events)


def add_plan_item(
    ctx: ServiceContext, meeting_id: int, item_id: int, data: items.ItemData
) -> Staged[int]:
    """Add to the plan of the item's case what the meeting decided, with its owner and due
    date, as the case page does; the value is the plan item's id.

    :raises NotFound, AccessDenied: see ``loaded_item`` (the meeting's lead) and ``add_item``
        (the case's team plans).
    :raises CaseClosed: the case is closed.
    :raises ValidationFailed: the item is about no case, or what ``add_item`` refuses (an
        owner out of the case's scope, "other" without a description...).
    """
    return _decided(
        ctx,
        meeting_id,
        item_id,
        DecisionKind.PLAN_ITEM,
        lambda number: items.add_item(ctx, number, data),
    )


def refer(
    ctx: ServiceContext, meeting_id: int, item_id: int, data: referrals.ReferralData
) -> Staged[int]:
    """Draft the referral the meeting decided, with its consent or legal basis, as the case
    page does; the value is the referral's id.

    :raises NotFound, AccessDenied: see ``loaded_item`` (the meeting's lead) and
        ``draft_referral`` (whoever may refer on the case).
    :raises CaseClosed: the case is closed.
    :raises ValidationFailed: the item is about no case, or what ``draft_referral`` refuses
        (the consent incomplete, a past follow-up date, a person not the case's...).
    """
    return _decided(
        ctx,
        meeting_id,
        item_id,
        DecisionKind.REFERRAL,
        lambda number: referrals.draft_referral(ctx, number, data),
    )


def review(
    ctx: ServiceContext,
    meeting_id: int,
    item_id: int,
    *,
    changes: str,
    next_on: date | None = None,
) -> Staged[int]:
    """Record the meeting's review of the item's case and its next date (the level's cadence
    when none is given), as the case page does; the value is the review's id.

    :raises NotFound, AccessDenied: see ``loaded_item`` (the meeting's lead) and
        ``record_review`` (the case's team).
    :raises CaseClosed: the case is closed.
    :raises ValidationFailed: the item is about no case, or what ``record_review`` refuses
        (nothing said of what changed, a next date past or beyond the cadence, a case not
        under management or monitoring).
    """
    return _decided(
        ctx,
        meeting_id,
        item_id,
        DecisionKind.REVIEW,
        lambda number: reviews.record_review(ctx, number, changes=changes, next_on=next_on),
    )
