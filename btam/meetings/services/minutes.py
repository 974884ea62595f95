"""Minutes of an agenda item: an education record of the item's case, under its key."""

from __future__ import annotations

from btam.access.policy import Act
from btam.access.record_classes import RecordClass
from btam.audit.actions import AuditAction
from btam.cases import repository as case_repo
from btam.cases.lifecycle import CaseChange
from btam.cases.services.guard import load_case
from btam.context import ServiceContext, Staged, staged
from btam.meetings.models import Minute
from btam.meetings.services.agenda import loaded_item
from btam.text import clean_text

MINUTES_MAX = 20_000


def record_minutes(ctx: ServiceContext, meeting_id: int, item_id: int, body: str) -> Staged[int]:
    """Record minutes of one agenda item; the value is their id.

    Minutes of a case's item are an education record of the case: whoever writes them must
    be allowed to add to its records, and a closed case takes none.

    :raises NotFound, AccessDenied: see ``loaded_item`` and ``load_case`` (recorded).
    :raises CaseClosed: the item's case is closed.
    :raises ValidationFailed: no text, or text too long.
    """
    loaded, item = loaded_item(ctx, meeting_id, item_id, Act.RECORD_MINUTES)
    school_id = None
    if item.case_id is not None:
        number = case_repo.case_by_id(ctx.db, item.case_id).number
        school_id = load_case(ctx, number, Act.EDIT_CASE, change=CaseChange.RECORDS).case.school_id
    text = clean_text(body, field="body", limit=MINUTES_MAX, required=True)
    row = Minute(
        meeting_id=meeting_id,
        item_id=item.id,
        case_id=item.case_id,
        record_class=RecordClass.EDUCATION,
        author_id=loaded.access.actor.user_id,
        created_at=ctx.now,
    )
    row.body = text
    ctx.db.add(row)
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.MEETING_MINUTES_RECORDED,
            object_type="meeting_minutes",
            object_id=row.id,
            case_id=item.case_id,
            school_id=school_id,
            purpose=f"item {item.id}",
        ),
    )
