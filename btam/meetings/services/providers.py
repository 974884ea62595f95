"""Where an agenda comes from: one provider per source of the team's work.

A provider takes the context, the team and the meeting's moment, and proposes items (ids and
dates only). :data:`PROVIDERS` is the tuple the agenda is built from, in the order its items
are listed: the team's reports awaiting triage, cases in assessment, determinations waiting
for confirmation, reviews due by the meeting's day, plan items overdue by then, referrals to
follow up by then and notifications still owed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from btam.accounts.services.organisation import day_begins, local_day
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext
from btam.meetings import repository
from btam.meetings.terms import ItemKind
from btam.plans.services import notifications


@dataclass(frozen=True)
class Proposal:
    """An item a source proposes: its kind, the case or report, the record, when it is due."""

    kind: ItemKind
    case_id: int | None = None
    report_id: int | None = None
    ref_id: int | None = None
    due_at: datetime | None = None

    @property
    def key(self) -> tuple[ItemKind, int | None, int | None, int | None]:
        """What makes two proposals the same item (so a rebuild adds each once)."""
        return (self.kind, self.case_id, self.report_id, self.ref_id)


Provider = Callable[[ServiceContext, int, datetime], list[Proposal]]


def reports_awaiting_triage(ctx: ServiceContext, team_id: int, until: datetime) -> list[Proposal]:
    """Reports of the team's schools still waiting for triage, due when triage is due."""
    return [
        Proposal(ItemKind.TRIAGE, report_id=r.id, due_at=r.due_at)
        for r in repository.reports_awaiting_triage(ctx.db, team_id)
    ]


def cases_in_assessment(ctx: ServiceContext, team_id: int, until: datetime) -> list[Proposal]:
    """The team's cases still in assessment."""
    return [
        Proposal(ItemKind.ASSESSMENT, case_id=c.id)
        for c in repository.cases_in_status(ctx.db, team_id, CaseStatus.ASSESSMENT)
    ]


def determinations_to_confirm(ctx: ServiceContext, team_id: int, until: datetime) -> list[Proposal]:
    """Determinations of the team's cases still waiting for a participant's confirmation."""
    return [
        Proposal(ItemKind.CONFIRMATION, case_id=c.id, ref_id=d.id)
        for d, c in repository.pending_determinations(ctx.db, team_id)
    ]


def reviews_due(ctx: ServiceContext, team_id: int, until: datetime) -> list[Proposal]:
    """The team's cases whose review falls due by the meeting's day."""
    return [
        Proposal(ItemKind.REVIEW_DUE, case_id=c.id, due_at=day_begins(ctx, r.due_on))
        for r, c in repository.reviews_due(ctx.db, team_id, local_day(ctx, until))
    ]


def overdue_plan_items(ctx: ServiceContext, team_id: int, until: datetime) -> list[Proposal]:
    """Plan items of the team's cases that will be past their date at the meeting."""
    return [
        Proposal(
            ItemKind.PLAN_OVERDUE,
            case_id=c.id,
            ref_id=i.id,
            due_at=day_begins(ctx, i.due_on) if i.due_on else None,
        )
        for i, c in repository.plan_items_overdue(ctx.db, team_id, local_day(ctx, until))
    ]


def referral_follow_ups(ctx: ServiceContext, team_id: int, until: datetime) -> list[Proposal]:
    """Open referrals of the team's cases to follow up by the meeting's day."""
    return [
        Proposal(
            ItemKind.REFERRAL_FOLLOW_UP,
            case_id=c.id,
            ref_id=r.id,
            due_at=day_begins(ctx, r.follow_up_on) if r.follow_up_on else None,
        )
        for r, c in repository.referrals_due(ctx.db, team_id, local_day(ctx, until))
    ]


def outstanding_notifications(ctx: ServiceContext, team_id: int, until: datetime) -> list[Proposal]:
    """The team's open cases that still owe a notification due by the meeting's day."""
    day = local_day(ctx, until)
    found = []
    cases = repository.open_cases(ctx.db, team_id)
    duties = notifications.duties_of_cases(ctx, cases)
    for case in cases:
        owed = [d.due_on for d in duties[case.id] if not d.done and d.due_on <= day]
        if owed:
            found.append(
                Proposal(
                    ItemKind.NOTIFICATION,
                    case_id=case.id,
                    due_at=day_begins(ctx, min(owed)),
                )
            )
    return found


PROVIDERS: tuple[Provider, ...] = (
    reports_awaiting_triage,
    cases_in_assessment,
    determinations_to_confirm,
    reviews_due,
    overdue_plan_items,
    referral_follow_ups,
    outstanding_notifications,
)
