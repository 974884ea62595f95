"""The plan's items: added by the team with an owner in scope, moved on by their owner or
the team, with progress notes; a student's IEP / 504 status guards disciplinary removals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from btam.access import policy
from btam.access.actor import Role
from btam.access.policy import Access, Act
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.accounts.models import User
from btam.accounts.signin import actor_for
from btam.audit.actions import AuditAction
from btam.cases import repository as case_repo
from btam.cases.lifecycle import CaseChange, Transition
from btam.cases.services.guard import CaseInScope, load_case
from btam.cases.services.lifecycle import transition
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.people.terms import Part, PersonKind
from btam.plans import repository
from btam.plans.models import PlanItem, PlanProgress
from btam.plans.terms import (
    DISCIPLINARY_REMOVALS,
    FINISHED,
    Aim,
    Intervention,
    ItemStatus,
    SupportPlan,
)
from btam.text import clean_text

DESCRIPTION_MAX = 2_000
NOTE_MAX = 5_000
OWNER_ROLES = frozenset({Role.TEAM_LEAD, Role.TEAM_MEMBER, Role.COUNSELOR})
# A review that still stands: planned, going on or done (not dropped, not missed).
_STANDING = frozenset({ItemStatus.PLANNED, ItemStatus.IN_PROGRESS, ItemStatus.DONE})
IEP_REFUSAL = (
    "The subject has an IEP or a 504 plan: plan a special-education / 504 team review "
    "before any disciplinary removal."
)


@dataclass(frozen=True)
class ItemData:
    intervention: Intervention
    description: str
    aim: Aim
    owner_id: int
    due_on: date | None
    target_party_id: int | None = None


def owner_refusal(ctx: ServiceContext, loaded: CaseInScope, user: User | None) -> str | None:
    """Why ``user`` may not own an item of this case, or None when it may (the policy's
    OWN_PLAN_ITEM: a team member of the case's team, or a counselor of its school)."""
    if user is None or not user.is_active or user.role not in OWNER_ROLES:
        return "Choose an active team member or counselor."
    decision = policy.allowed(Access(actor_for(user, "")), Act.OWN_PLAN_ITEM, loaded.facts)
    if decision:
        return None
    return (
        f"{user.display_name} may not own this item: only a member of the case's team, or a "
        "counselor whose schools include the case's school."
    )


def owner_choices(ctx: ServiceContext, loaded: CaseInScope) -> list[tuple[int, str]]:
    """The users who may own an item of this case, by name."""
    return [
        (u.id, f"{u.display_name} ({u.role.label})")
        for u in accounts_repo.users_near(
            ctx.db, OWNER_ROLES, school_id=loaded.case.school_id, team_id=loaded.case.team_id
        )
        if owner_refusal(ctx, loaded, u) is None
    ]


def target_choices(ctx: ServiceContext, case_id: int) -> list[tuple[int, str]]:
    """The case's targets, for an item that protects one (the team's view only)."""
    return [
        (party.id, person.full_name)
        for party, person in case_repo.parties(ctx.db, case_id)
        if party.part is Part.TARGET
    ]


def subject_support_plan(ctx: ServiceContext, case_id: int) -> SupportPlan:
    """The strongest IEP / 504 status among the case's student subjects."""
    found = SupportPlan.NONE
    for party, person in case_repo.parties(ctx.db, case_id):
        if party.part is Part.SUBJECT and person.kind is PersonKind.STUDENT:
            value = SupportPlan(person.support_plan or SupportPlan.NONE.value)
            if value is not SupportPlan.NONE:
                found = value
    return found


def add_item(ctx: ServiceContext, number: str, data: ItemData) -> Staged[int]:
    """The team adds an intervention to the plan; a case in monitoring goes back to management.

    The value is the item's id.

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case`` (the team plans).
    :raises ValidationFailed: an owner out of scope (the reason named), a target that is not
        the case's, "other" without a description, or a disciplinary removal for a student
        with an IEP or 504 plan before the special-education / 504 team's review is planned.
    """
    loaded = load_case(ctx, number, Act.ASSIGN_WORK, change=CaseChange.PLAN)
    case = loaded.case
    refusal = owner_refusal(ctx, loaded, accounts_repo.user(ctx.db, data.owner_id))
    if refusal:
        raise ValidationFailed(refusal, field="owner_id")
    description = clean_text(
        data.description,
        limit=DESCRIPTION_MAX,
        field="description",
        required=data.intervention is Intervention.OTHER,
    )
    target = data.target_party_id if data.aim is Aim.TARGET else None
    if data.aim is Aim.TARGET and target not in {i for i, _ in target_choices(ctx, case.id)}:
        raise ValidationFailed("Choose a target of this case.", field="target_party_id")
    if data.intervention in DISCIPLINARY_REMOVALS and _needs_review(ctx, case.id):
        raise ValidationFailed(IEP_REFUSAL, field="intervention")
    row = PlanItem(
        case_id=case.id,
        intervention=data.intervention,
        description=description,
        aim=data.aim,
        target_party_id=target,
        owner_id=data.owner_id,
        due_on=data.due_on,
        status=ItemStatus.PLANNED,
        created_at=ctx.now,
        created_by=loaded.access.actor.user_id,
    )
    ctx.db.add(row)
    ctx.db.flush()
    result = staged(
        row.id,
        loaded.event(AuditAction.CASE_PLAN_ITEM_ADDED, object_type="plan_item", object_id=row.id),
    )
    if case.status is CaseStatus.MONITORING:
        reason = f"A new plan item: {data.intervention.label}."
        result = result + transition(ctx, loaded, Transition.RESUME_MANAGEMENT, reason=reason)
    return result


def _needs_review(ctx: ServiceContext, case_id: int) -> bool:
    if subject_support_plan(ctx, case_id) is SupportPlan.NONE:
        return False
    return not any(
        i.intervention is Intervention.SPECIAL_EDUCATION_REVIEW and i.status in _STANDING
        for i in repository.items(ctx.db, case_id)
    )


def _item_for_work(ctx: ServiceContext, number: str, item_id: int) -> tuple[CaseInScope, PlanItem]:
    """The item, for its owner or the team; anyone else is told it does not exist."""
    loaded = load_case(ctx, number, change=CaseChange.PLAN)
    case = loaded.case
    row = repository.item(ctx.db, case.id, item_id)
    own = row is not None and row.owner_id == loaded.access.actor.user_id
    if row is None or not (own or loaded.may(Act.ASSIGN_WORK)):
        refuse(
            ctx,
            object_type="plan_item",
            object_id=item_id,
            reason="not the owner or the team",
            case_id=case.id,
            school_id=case.school_id,
        )
    return loaded, row


def set_status(
    ctx: ServiceContext, number: str, item_id: int, *, status: ItemStatus, reason: str = ""
) -> Staged[None]:
    """The owner or the team moves an item on; when every item is done or discontinued, a
    case under management moves to monitoring.

    :raises NotFound: no such item on a case the actor may see, or not its owner or team
        (recorded).
    :raises CaseClosed: the case is closed.
    :raises ValidationFailed: the same status again, or missed / discontinued without a
        reason.
    """
    loaded, row = _item_for_work(ctx, number, item_id)
    if row.status is status:
        raise ValidationFailed(f"The item is {status.label.lower()} already.", field="status")
    needs_reason = status in {ItemStatus.MISSED, ItemStatus.DISCONTINUED}
    text = clean_text(reason, limit=NOTE_MAX, field="reason", required=needs_reason)
    row.status = status
    row.status_reason = text
    row.finished_at = ctx.now if status in FINISHED else None
    ctx.db.flush()
    result = staged(
        None,
        loaded.event(
            AuditAction.CASE_PLAN_ITEM_UPDATED,
            object_type="plan_item",
            object_id=row.id,
            purpose=f"status {status.value}",
        ),
    )
    return result + _after_items_change(ctx, loaded)


def _after_items_change(ctx: ServiceContext, loaded: CaseInScope) -> Staged[object]:
    case = loaded.case
    rows = repository.items(ctx.db, case.id)
    finished = bool(rows) and all(i.status in FINISHED for i in rows)
    if finished and case.status is CaseStatus.MANAGEMENT:
        reason = "Every plan item is done or discontinued."
        return transition(ctx, loaded, Transition.BEGIN_MONITORING, reason=reason)
    return staged(None)


def add_progress(ctx: ServiceContext, number: str, item_id: int, *, body: str) -> Staged[int]:
    """The owner or the team adds a progress note to an item (the team reads it).

    :raises NotFound: see :func:`set_status`.
    :raises CaseClosed: the case is closed.
    :raises ValidationFailed: no note, or one too long.
    """
    loaded, row = _item_for_work(ctx, number, item_id)
    note = PlanProgress(
        case_id=loaded.case.id,
        item_id=row.id,
        author_id=loaded.access.actor.user_id,
        body=clean_text(body, limit=NOTE_MAX, field="body", required=True),
        created_at=ctx.now,
    )
    ctx.db.add(note)
    ctx.db.flush()
    return staged(
        note.id,
        loaded.event(
            AuditAction.CASE_PLAN_ITEM_UPDATED,
            object_type="plan_item",
            object_id=row.id,
            purpose="progress note",
        ),
    )


def set_support_plan(ctx: ServiceContext, number: str, *, plan: SupportPlan) -> Staged[None]:
    """The team records the student subject's IEP / 504 status (stored encrypted).

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case`` (the team plans).
    :raises ValidationFailed: the case has no student subject.
    """
    loaded = load_case(ctx, number, Act.ASSIGN_WORK, change=CaseChange.PLAN)
    students = [
        person
        for party, person in case_repo.parties(ctx.db, loaded.case.id)
        if party.part is Part.SUBJECT and person.kind is PersonKind.STUDENT
    ]
    if not students:
        raise ValidationFailed("The case has no student subject.", field="plan")
    for person in students:
        person.support_plan = plan.value
    return staged(
        None,
        loaded.event(
            AuditAction.CASE_SUPPORT_PLAN_RECORDED,
            object_type="person",
            object_id=students[0].id,
        ),
    )
