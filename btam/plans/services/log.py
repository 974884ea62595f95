"""The counselors' intervention log: the owner of a plan item logs each session or contact.

The private notes are a counseling record: the mental-health discipline and the author read
them; the team reads the summary written for it. The policy decides each entry
(``Act.READ_PRIVATE_LOG`` on its :class:`RecordFacts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from btam.access import policy
from btam.access.policy import Act, RecordFacts
from btam.access.record_classes import RecordClass
from btam.access.refusal import refuse
from btam.audit.actions import AuditAction
from btam.cases.lifecycle import CaseChange
from btam.cases.services.guard import CaseInScope, load_case
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.plans import repository
from btam.plans.models import LogEntry
from btam.plans.services.calendar import today
from btam.plans.terms import LogKind
from btam.text import clean_text

NOTES_MAX = 10_000
SUMMARY_MAX = 2_000
MINUTES_MAX = 8 * 60
# A session logged long after it happened is a mistake more often than a memory.
BACKDATE_DAYS = 366


@dataclass(frozen=True)
class LogData:
    held_on: date
    minutes: int
    kind: LogKind
    private_notes: str
    team_summary: str


def add_entry(ctx: ServiceContext, number: str, item_id: int, data: LogData) -> Staged[int]:
    """The item's owner logs a session or contact: private notes and a summary for the team.

    :raises NotFound: no such item on a case the actor may see, or not its owner (recorded).
    :raises CaseClosed: the case is closed.
    :raises ValidationFailed: a day in the future or over a year ago, a duration out of
        range, or no summary for the team.
    """
    loaded = load_case(ctx, number, change=CaseChange.PLAN)
    case = loaded.case
    row = repository.item(ctx.db, case.id, item_id)
    if row is None or row.owner_id != loaded.access.actor.user_id:
        refuse(
            ctx,
            object_type="plan_item",
            object_id=item_id,
            reason="only the item's owner logs its sessions",
            case_id=case.id,
            school_id=case.school_id,
        )
    now = today(ctx)
    if not now - timedelta(days=BACKDATE_DAYS) <= data.held_on <= now:
        raise ValidationFailed(
            "Give the day it happened (today or within a year).", field="held_on"
        )
    if not 1 <= data.minutes <= MINUTES_MAX:
        raise ValidationFailed(f"Between 1 and {MINUTES_MAX} minutes.", field="minutes")
    entry = LogEntry(
        case_id=case.id,
        item_id=row.id,
        author_id=loaded.access.actor.user_id,
        held_on=data.held_on,
        minutes=data.minutes,
        kind=data.kind,
        private_notes=clean_text(data.private_notes, limit=NOTES_MAX, field="private_notes"),
        team_summary=clean_text(
            data.team_summary, limit=SUMMARY_MAX, field="team_summary", required=True
        ),
        created_at=ctx.now,
    )
    ctx.db.add(entry)
    ctx.db.flush()
    return staged(
        entry.id,
        loaded.event(
            AuditAction.CASE_LOG_ADDED,
            object_type="log_entry",
            object_id=entry.id,
            purpose=f"{data.kind.value}, counseling record",
        ),
    )


def visible_entries(ctx: ServiceContext, loaded: CaseInScope) -> list[tuple[LogEntry, bool]]:
    """The log entries the visitor may see, each with whether its private notes are readable.

    The team sees every entry's summary; an owner outside the team sees its own entries.
    """
    access = loaded.access
    if loaded.may(Act.VIEW_CASE):
        rows = repository.log_entries(ctx.db, loaded.case.id)
    else:
        rows = repository.log_entries(ctx.db, loaded.case.id, author_id=access.actor.user_id)
    return [
        (
            row,
            bool(
                policy.allowed(
                    access,
                    Act.READ_PRIVATE_LOG,
                    RecordFacts(loaded.facts, RecordClass.COUNSELING, row.author_id),
                )
            ),
        )
        for row in rows
    ]
