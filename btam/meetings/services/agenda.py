"""The agenda: built (and rebuilt) from the team's work, then shaped by the lead: a case or a
free topic added, an item removed, moved, or shared with the meeting's guests."""

from __future__ import annotations

from btam.access.policy import Act
from btam.access.refusal import refuse
from btam.audit.actions import AuditAction
from btam.cases.services.guard import load_case
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.meetings import repository
from btam.meetings.models import AgendaItem
from btam.meetings.services.common import MeetingInScope, load_meeting
from btam.meetings.services.providers import PROVIDERS, Proposal, Provider
from btam.meetings.terms import ItemKind
from btam.text import clean_text

TOPIC_MAX = 500


def build_agenda(
    ctx: ServiceContext, meeting_id: int, *, providers: tuple[Provider, ...] = PROVIDERS
) -> Staged[int]:
    """Add to the agenda what each source proposes and it lacks; the value is how many.

    An item the lead removed is not brought back; nothing already there is changed.

    :raises NotFound, AccessDenied: see ``load_meeting`` (the lead only).
    """
    loaded = load_meeting(ctx, meeting_id, Act.LEAD_MEETING)
    meeting = loaded.meeting
    present = {
        (i.kind, i.case_id, i.report_id, i.ref_id)
        for i in repository.items(ctx.db, meeting.id, removed=True)
    }
    position = repository.next_position(ctx.db, meeting.id)
    added = 0
    for provider in providers:
        for proposal in provider(ctx, meeting.team_id, meeting.starts_at):
            if proposal.key in present:
                continue
            present.add(proposal.key)
            ctx.db.add(_item(loaded, proposal, position, added_by=None, ctx=ctx))
            position += 1
            added += 1
    meeting.agenda_built_at = ctx.now
    ctx.db.flush()
    return staged(
        added, loaded.event(AuditAction.MEETING_AGENDA_BUILT, purpose=f"{added} items added")
    )


def _item(
    loaded: MeetingInScope,
    p: Proposal,
    position: int,
    *,
    added_by: int | None,
    ctx: ServiceContext,
) -> AgendaItem:
    return AgendaItem(
        meeting_id=loaded.meeting.id,
        position=position,
        kind=p.kind,
        case_id=p.case_id,
        report_id=p.report_id,
        ref_id=p.ref_id,
        due_at=p.due_at,
        added_by=added_by,
        added_at=ctx.now,
    )


def add_case(ctx: ServiceContext, meeting_id: int, number: str) -> Staged[int]:
    """Put one of the team's cases on the agenda; the value is the item's id.

    :raises NotFound, AccessDenied: see ``load_meeting`` and ``load_case`` (recorded).
    :raises ValidationFailed: a case of another team, or one already on the agenda.
    """
    loaded = load_meeting(ctx, meeting_id, Act.LEAD_MEETING)
    case = load_case(ctx, number, Act.VIEW_CASE).case
    if case.team_id != loaded.meeting.team_id:
        raise ValidationFailed("Choose a case of the meeting's team.", field="number")
    if any(
        i.kind is ItemKind.CASE and i.case_id == case.id
        for i in repository.items(ctx.db, meeting_id)
    ):
        raise ValidationFailed("That case is on the agenda already.", field="number")
    position = repository.next_position(ctx.db, meeting_id)
    row = _item(
        loaded,
        Proposal(ItemKind.CASE, case_id=case.id),
        position,
        added_by=loaded.access.actor.user_id,
        ctx=ctx,
    )
    ctx.db.add(row)
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.MEETING_AGENDA_CHANGED,
            object_type="agenda_item",
            object_id=row.id,
            case_id=case.id,
            purpose="case added",
        ),
    )


def add_topic(ctx: ServiceContext, meeting_id: int, topic: str) -> Staged[int]:
    """Put a free topic on the agenda; the value is the item's id.

    :raises NotFound, AccessDenied: see ``load_meeting``.
    :raises ValidationFailed: no topic, or one too long.
    """
    loaded = load_meeting(ctx, meeting_id, Act.LEAD_MEETING)
    text = clean_text(topic, field="topic", limit=TOPIC_MAX, required=True)
    row = _item(
        loaded,
        Proposal(ItemKind.TOPIC),
        repository.next_position(ctx.db, meeting_id),
        added_by=loaded.access.actor.user_id,
        ctx=ctx,
    )
    row.topic = text
    ctx.db.add(row)
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.MEETING_AGENDA_CHANGED,
            object_type="agenda_item",
            object_id=row.id,
            purpose="topic added",
        ),
    )


def loaded_item(
    ctx: ServiceContext, meeting_id: int, item_id: int, act: Act
) -> tuple[MeetingInScope, AgendaItem]:
    """The meeting (for ``act``) and one item of its agenda.

    :raises NotFound: no such meeting or item (recorded).
    :raises AccessDenied: ``act`` is refused on the meeting (recorded).
    """
    loaded = load_meeting(ctx, meeting_id, act)
    row = repository.item(ctx.db, meeting_id, item_id)
    if row is None:
        refuse(ctx, object_type="agenda_item", object_id=item_id, reason="no such item")
    return loaded, row


def remove_item(ctx: ServiceContext, meeting_id: int, item_id: int) -> Staged[int]:
    """Take an item off the agenda (kept, marked removed: a rebuild does not bring it back).

    :raises NotFound: no such item on this meeting (recorded).
    :raises AccessDenied: not the meeting's lead (recorded).
    """
    loaded, row = loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    row.removed_at = ctx.now
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.MEETING_AGENDA_CHANGED,
            object_type="agenda_item",
            object_id=row.id,
            case_id=row.case_id,
            purpose="item removed",
        ),
    )


def move_item(ctx: ServiceContext, meeting_id: int, item_id: int, *, up: bool) -> Staged[int]:
    """Move an item one place up or down the agenda.

    :raises NotFound: no such item on this meeting (recorded).
    :raises AccessDenied: not the meeting's lead (recorded).
    :raises ValidationFailed: the item is first (up) or last (down) already.
    """
    loaded, row = loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    ordered = list(repository.items(ctx.db, meeting_id))
    at = next(n for n, i in enumerate(ordered) if i.id == row.id)
    other = at - 1 if up else at + 1
    if not 0 <= other < len(ordered):
        raise ValidationFailed("That item cannot move further.")
    ordered[at], ordered[other] = ordered[other], ordered[at]
    for n, i in enumerate(ordered, start=1):
        i.position = n
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.MEETING_AGENDA_CHANGED,
            object_type="agenda_item",
            object_id=row.id,
            purpose="moved up" if up else "moved down",
        ),
    )


def share_item(ctx: ServiceContext, meeting_id: int, item_id: int, *, shared: bool) -> Staged[int]:
    """Show an item to the meeting's guests, or stop showing it.

    :raises NotFound: no such item on this meeting (recorded).
    :raises AccessDenied: not the meeting's lead (recorded).
    """
    loaded, row = loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    row.shared = shared
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.MEETING_AGENDA_CHANGED,
            object_type="agenda_item",
            object_id=row.id,
            case_id=row.case_id,
            purpose="shared with guests" if shared else "not shared",
        ),
    )
