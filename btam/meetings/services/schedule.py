"""Scheduling a team's meeting, and the list of the meetings the actor may open."""

from __future__ import annotations

from datetime import datetime

from btam.access import policy
from btam.access.permissions import Permission
from btam.access.policy import Act, MeetingFacts
from btam.access.refusal import refuse, require_permission
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.cases.services.guard import access_for
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.meetings import dto, repository
from btam.meetings.models import Meeting
from btam.meetings.terms import MeetingKind
from btam.text import clean_text

PLACE_MAX = 200


def schedulable_teams(ctx: ServiceContext) -> list[tuple[int, str]]:
    """The actor's active teams it may schedule a meeting for: (id, name)."""
    access = access_for(ctx)
    return [
        (t.id, t.name)
        for t in repository.teams(ctx.db, access.actor.team_ids)
        if t.is_active and policy.allowed(access, Act.SCHEDULE_MEETING, MeetingFacts(0, t.id))
    ]


def schedule_meeting(
    ctx: ServiceContext, *, team_id: int, starts_at: datetime, place: str, kind: MeetingKind
) -> Staged[int]:
    """Schedule a meeting of one of the actor's teams; the value is its id.

    :raises AccessDenied: the actor is on no such team (recorded).
    :raises ValidationFailed: no place, or a place too long.
    """
    require_permission(ctx, Permission.MEETINGS_WORK)
    access = access_for(ctx)
    team = repository.team(ctx.db, team_id)
    decision = policy.allowed(access, Act.SCHEDULE_MEETING, MeetingFacts(0, team_id))
    if team is None or not team.is_active or not decision:
        refuse(
            ctx,
            object_type="team",
            object_id=team_id,
            reason="not a team of the actor's",
            hide=False,
        )
    text = clean_text(place, field="place", limit=PLACE_MAX, required=True)
    if starts_at.tzinfo is None:
        raise ValidationFailed("Give the meeting's date and time.", field="starts_on")
    row = Meeting(
        team_id=team_id,
        kind=kind,
        starts_at=starts_at,
        place=text or "",
        scheduled_by=access.actor.user_id,
        scheduled_at=ctx.now,
    )
    ctx.db.add(row)
    ctx.db.flush()
    return staged(
        row.id,
        AuditEvent(
            AuditAction.MEETING_RECORD_SCHEDULED,
            object_type="meeting",
            object_id=row.id,
            purpose=f"{kind.value} meeting of team {team_id}",
        ),
    )


def list_meetings(ctx: ServiceContext) -> dto.MeetingList:
    """The meetings of the actor's teams (and those it is a guest of), upcoming and past;
    the view is recorded.

    :raises AccessDenied: the role may not open meetings (recorded).
    """
    require_permission(ctx, Permission.MEETINGS_VIEW)
    access = access_for(ctx)
    rows = repository.visible_meetings(ctx.db, access)
    names = {t.id: t.name for t in repository.teams(ctx.db, {r.team_id for r in rows})}
    ctx.record(AuditAction.MEETING_LIST_VIEWED, object_type="meeting_list")
    views = [
        dto.MeetingRow(
            id=r.id,
            team=names.get(r.team_id, ""),
            kind=r.kind,
            starts_at=r.starts_at,
            place=r.place,
            guest=r.team_id not in access.actor.team_ids,
        )
        for r in rows
    ]
    return dto.MeetingList(
        upcoming=[v for v in views if v.starts_at >= ctx.now],
        past=[v for v in reversed(views) if v.starts_at < ctx.now],
        teams=schedulable_teams(ctx),
    )
