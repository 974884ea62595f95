"""The plan section of the case page: the team's whole plan, or an owner's own items and log."""

from __future__ import annotations

from btam.access.policy import Act
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.cases.dto import TimelineItem
from btam.cases.services import page
from btam.cases.services.guard import CaseInScope
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext
from btam.plans import dto, referral_dto, repository
from btam.plans.services import closure, items, log
from btam.plans.services.calendar import today
from btam.plans.terms import FINISHED, SupportPlan


def plan_view(ctx: ServiceContext, loaded: CaseInScope) -> dto.PlanView:
    """What of the plan the visitor may see (the visit itself is recorded by the case page)."""
    case, actor = loaded.case, loaded.access.actor
    full = loaded.may(Act.VIEW_CASE)
    may_plan = loaded.may(Act.ASSIGN_WORK) and case.status is not CaseStatus.CLOSED
    rows = repository.items(ctx.db, case.id, owner_id=None if full else actor.user_id)
    entries = log.visible_entries(ctx, loaded)
    # An owner outside the team reads the progress notes of its own items (the rows above).
    own = {r.id for r in rows}
    notes = [n for n in repository.progress(ctx.db, case.id) if full or n.item_id in own]
    reviews = repository.reviews(ctx.db, case.id) if full else []
    names = accounts_repo.display_names(
        ctx.db,
        {r.owner_id for r in rows}
        | {e.author_id for e, _ in entries}
        | {n.author_id for n in notes}
        | {r.reviewed_by for r in reviews},
    )
    targets = dict(items.target_choices(ctx, case.id)) if full else {}
    texts = repository.carried_texts(ctx.db, rows)
    day = today(ctx)
    open_case = case.status is not CaseStatus.CLOSED
    item_views = [
        dto.ItemView(
            id=r.id,
            intervention=r.intervention.label,
            description=r.description or texts.get(r.id, ""),
            aim=r.aim.label,
            target=targets.get(r.target_party_id) if r.target_party_id else None,
            owner=names.get(r.owner_id, ""),
            owner_id=r.owner_id,
            due_on=r.due_on,
            status=r.status,
            status_reason=r.status_reason,
            overdue=r.status not in FINISHED and r.due_on is not None and r.due_on < day,
            progress=[
                dto.ProgressView(names.get(n.author_id, ""), n.body or "", n.created_at)
                for n in notes
                if n.item_id == r.id
            ],
            may_update=open_case and (may_plan or r.owner_id == actor.user_id),
            may_log=open_case and r.owner_id == actor.user_id,
            created_at=r.created_at,
        )
        for r in rows
    ]
    log_views = [
        dto.LogView(
            id=e.id,
            item_id=e.item_id,
            author=names.get(e.author_id, ""),
            held_on=e.held_on,
            minutes=e.minutes,
            kind=e.kind.label,
            summary=e.team_summary or "",
            private_notes=(e.private_notes or "") if readable else None,
        )
        for e, readable in entries
    ]
    if not full:
        return dto.PlanView(full=False, items=item_views, log=log_views)
    schedule = repository.schedule(ctx.db, case.id)
    is_lead = loaded.may(Act.MANAGE_CASE) and open_case
    support = items.subject_support_plan(ctx, case.id)
    return dto.PlanView(
        full=True,
        items=item_views,
        log=log_views,
        reviews=[
            dto.ReviewView(
                names.get(r.reviewed_by, ""), r.reviewed_at, r.changes or "", r.next_on, r.final
            )
            for r in reviews
        ],
        next_review_on=schedule.due_on if schedule else None,
        review_overdue=bool(schedule and schedule.due_on < day),
        open_things=closure.open_things(ctx, case) if is_lead else [],
        can_plan=may_plan,
        can_close=is_lead,
        support_plan=None if support is SupportPlan.NONE else support.label,
        owners=[dto.Choice(str(i), n) for i, n in items.owner_choices(ctx, loaded)]
        if may_plan
        else [],
        targets=[dto.Choice(str(i), n) for i, n in targets.items()],
    )


def item_page(
    ctx: ServiceContext, number: str, item_id: int
) -> tuple[dto.ItemView, list[dto.LogView]]:
    """One plan item with its progress notes and log, for its owner or the team (recorded).

    :raises NotFound: no such item on a case the actor may see, or neither its owner nor
        the team (recorded).
    """
    loaded = page.visit(ctx, number)
    plan = plan_view(ctx, loaded)
    found = next((i for i in plan.items if i.id == item_id), None)
    if found is None:
        refuse(
            ctx,
            object_type="plan_item",
            object_id=item_id,
            reason="not the owner or the team",
            case_id=loaded.case.id,
            school_id=loaded.case.school_id,
        )
    return found, [e for e in plan.log if e.item_id == item_id]


def timeline(
    plan: dto.PlanView, section: referral_dto.ReferralSection | None
) -> list[TimelineItem]:
    """The plan's and the referrals' part of a case's timeline, from the views the page already
    holds: items added, reviews, referrals and their steps, notifications given. Labels only,
    no content; nothing for a viewer who sees only their own items."""
    if not plan.full:
        return []
    items = [
        TimelineItem(i.created_at, "plan", f"Plan item added: {i.intervention} (owner: {i.owner})")
        for i in plan.items
        if i.created_at is not None
    ]
    for r in plan.reviews:
        text = "Final review of the plan" if r.final else "Plan reviewed"
        items.append(TimelineItem(r.at, "plan", text, r.by))
    if section is None:
        return items
    for ref in section.referrals:
        label = f"Referral #{ref.id} to {ref.destination.label.lower()}"
        items.append(TimelineItem(ref.created_at, "referral", f"{label} drafted", ref.author))
        for step in ref.steps:
            text = f"{label}: {step.to_status.label.lower()}"
            items.append(TimelineItem(step.taken_at, "referral", text, step.taken_by))
    for n in section.notifications:
        text = f"Notification given: {n.audience.label}"
        items.append(TimelineItem(n.notified_at, "notification", text, n.recorded_by))
    return items
