"""The home page's "my work": what the signed-in user owes, across the cases it may see.

Each section comes from one provider in :data:`PROVIDERS` (a function of the context and
the day, returning a section or None); a stage with work of its own (referrals to follow up,
notifications due) appends one provider. The view of it is recorded as one audit entry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from btam.access.actor import Role
from btam.access.refusal import actor_of
from btam.accounts import repository as accounts_repo
from btam.assessment.services import determinations
from btam.audit.actions import AuditAction
from btam.cases.services.guard import access_for
from btam.context import ServiceContext
from btam.plans import repository
from btam.plans.dto import WorkRow, WorkSection
from btam.plans.models import PlanItem
from btam.plans.services import notifications, referrals
from btam.plans.services.calendar import today
from btam.plans.terms import ItemStatus

# Reviews and items show from this many days before they are due.
SOON = timedelta(days=7)
# An item going on wants a log entry at least this often.
LOG_EVERY = timedelta(days=7)

Provider = Callable[[ServiceContext, date], WorkSection | None]


def _item_text(row: PlanItem, texts: dict[int, str]) -> str:
    text = row.description or texts.get(row.id) or ""
    label = row.intervention.label
    short = text.splitlines()[0][:80] if text else ""
    return f"{label}: {short}" if short else label


def own_items(ctx: ServiceContext, day: date) -> WorkSection | None:
    """The user's own unfinished plan items (missed ones too), soonest first."""
    access = access_for(ctx)
    found = repository.own_open_items(ctx.db, access, access.actor.user_id)
    texts = repository.carried_texts(ctx.db, [i for i, _ in found])
    rows = [
        WorkRow(
            case_number=case.number,
            text=f"{_item_text(item, texts)} ({item.status.label.lower()})",
            due=item.due_on,
            overdue=item.status is ItemStatus.MISSED
            or (item.due_on is not None and item.due_on < day),
            anchor="plan",
        )
        for item, case in found
    ]
    return WorkSection("items", "Your plan items", rows, "Interventions you own.")


def logs_to_write(ctx: ServiceContext, day: date) -> WorkSection | None:
    """The user's items in progress with no session logged in the last week."""
    access = access_for(ctx)
    rows = []
    for item, case in repository.own_open_items(ctx.db, access, access.actor.user_id):
        if item.status is not ItemStatus.IN_PROGRESS:
            continue
        own = repository.log_entries(ctx.db, case.id, author_id=access.actor.user_id)
        last = max((e.held_on for e in own if e.item_id == item.id), default=None)
        if last is None or last <= day - LOG_EVERY:
            due = (last + LOG_EVERY) if last else day
            rows.append(
                WorkRow(
                    case.number,
                    f"{item.intervention.label}: log the latest session or contact",
                    due,
                    overdue=due < day,
                    anchor="log",
                )
            )
    return WorkSection("logs", "Logs to write", rows, "Sessions and contacts of your items.")


def reviews_due(ctx: ServiceContext, day: date) -> WorkSection | None:
    """Reviews due within the week or overdue on the cases the user plans."""
    access = access_for(ctx)
    rows = [
        WorkRow(case.number, "Review of the case", s.due_on, s.due_on < day, "reviews")
        for s, case in repository.due_reviews(ctx.db, access)
        if s.due_on <= day + SOON
    ]
    return WorkSection("reviews", "Reviews due", rows)


def to_confirm(ctx: ServiceContext, day: date) -> WorkSection | None:
    """Determinations waiting for the user's confirmation."""
    rows = [
        WorkRow(
            t.case_number,
            f"Determination version {t.version}: {t.classification_label}, level "
            f"{t.level_label} — recorded by {t.recorded_by}",
            t.recorded_at,
            False,
            "determinations",
        )
        for t in determinations.to_confirm(ctx)
    ]
    return WorkSection(
        "confirm",
        "Determinations to confirm",
        rows,
        "You are named as a participant. Read the facts, then confirm or object.",
    )


def team_overdue(ctx: ServiceContext, day: date) -> WorkSection | None:
    """For a team lead: the team's overdue plan items, whoever owns them."""
    access = access_for(ctx)
    if access.actor.role is not Role.TEAM_LEAD:
        return None
    found = [
        (item, case)
        for item, case in repository.team_open_items(ctx.db, access)
        if item.status is ItemStatus.MISSED or (item.due_on is not None and item.due_on < day)
    ]
    names = accounts_repo.display_names(ctx.db, {i.owner_id for i, _ in found})
    texts = repository.carried_texts(ctx.db, [i for i, _ in found])
    rows = [
        WorkRow(
            case.number,
            f"{_item_text(item, texts)} — {names.get(item.owner_id, '')}",
            item.due_on,
            True,
            "plan",
        )
        for item, case in found
    ]
    return WorkSection("team", "Your team's overdue items", rows)


def referrals_to_follow_up(ctx: ServiceContext, day: date) -> WorkSection | None:
    """Open referrals on the user's cases, by next follow-up date."""
    rows = [
        WorkRow(i.case_number, i.text, i.due_on, i.overdue, "referrals")
        for i in referrals.referrals_to_follow_up(ctx)
        if i.due_on is None or i.due_on <= day + SOON
    ]
    return WorkSection("referrals", "Referrals to follow up", rows)


def notifications_due(ctx: ServiceContext, day: date) -> WorkSection | None:
    """Notifications the user's cases still owe, overdue first."""
    rows = [
        WorkRow(i.case_number, i.text, i.due_on, i.overdue, "notifications")
        for i in notifications.outstanding_notifications(ctx)
    ]
    return WorkSection("notifications", "Notifications to record", rows)


PROVIDERS: tuple[Provider, ...] = (
    to_confirm,
    own_items,
    logs_to_write,
    reviews_due,
    referrals_to_follow_up,
    notifications_due,
    team_overdue,
)
# The providers that need a role with case work; the others return nothing for the rest.
CASE_ROLES = frozenset({Role.TEAM_LEAD, Role.TEAM_MEMBER, Role.COUNSELOR})


def my_work(ctx: ServiceContext) -> list[WorkSection]:
    """The sections of the user's work that have rows, in the providers' order (recorded).

    :raises AccessDenied: nobody is signed in.
    """
    actor = actor_of(ctx)
    if actor.role not in CASE_ROLES:
        return []
    day = today(ctx)
    sections = [s for p in PROVIDERS if (s := p(ctx, day)) is not None and s.rows]
    ctx.record(
        AuditAction.CASE_LIST_VIEWED,
        object_type="my_work",
        purpose=f"{sum(len(s.rows) for s in sections)} work rows shown",
    )
    return sections
