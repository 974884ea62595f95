"""Who is at the meeting: team members with their discipline, guests from outside the team,
each one's confidentiality acknowledgement, and whether the disciplines present make the
quorum of the district's assessment model."""

from __future__ import annotations

from btam.access.actor import ROLES_WITH_DISCIPLINE, Role
from btam.access.policy import Act
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.audit.actions import AuditAction
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.meetings import dto, repository
from btam.meetings.models import Attendee
from btam.meetings.services.common import MeetingInScope, district_model, load_meeting
from btam.text import clean_text

NAME_MAX = 200
# Who may be a guest with an account: someone who signs in to see what the lead shares.
GUEST_ROLES = (Role.COUNSELOR, Role.TEAM_LEAD, Role.TEAM_MEMBER)


def team_members(ctx: ServiceContext, team_id: int) -> list[tuple[int, str, str | None]]:
    """The active leads and members of the team: (user id, name, discipline key)."""
    team = repository.team(ctx.db, team_id)
    if team is None:
        return []
    return [
        (u.id, u.display_name, u.discipline.value if u.discipline else None)
        for u in team.members
        if u.is_active and u.role in ROLES_WITH_DISCIPLINE
    ]


def candidates(
    ctx: ServiceContext, loaded: MeetingInScope
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Who the lead may still record: team members (id, "name (discipline)") and users
    outside the team who may be guests (id, name)."""
    present = {a.user_id for a in repository.attendees(ctx.db, loaded.meeting.id) if a.user_id}
    members = team_members(ctx, loaded.meeting.team_id)
    member_choices = [
        (user_id, f"{name} ({(d or 'no discipline').replace('_', ' ')})")
        for user_id, name, d in members
        if user_id not in present
    ]
    team_ids = {m[0] for m in members}
    guest_choices = [
        (u.id, u.display_name)
        for u in accounts_repo.users_with_roles(ctx.db, GUEST_ROLES)
        if u.id not in team_ids and u.id not in present
    ]
    return member_choices, guest_choices


def candidates_for(
    ctx: ServiceContext, meeting_id: int
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """:func:`candidates` of a meeting the actor leads.

    :raises NotFound, AccessDenied: see ``load_meeting`` (the lead only).
    """
    return candidates(ctx, load_meeting(ctx, meeting_id, Act.LEAD_MEETING))


def add_attendee(ctx: ServiceContext, meeting_id: int, user_id: int) -> Staged[int]:
    """Record a member of the meeting's team as present, with its discipline.

    :raises NotFound, AccessDenied: see ``load_meeting`` (the lead only).
    :raises ValidationFailed: not a member of the team, or present already.
    """
    loaded = load_meeting(ctx, meeting_id, Act.LEAD_MEETING)
    members = {m[0]: m for m in team_members(ctx, loaded.meeting.team_id)}
    if user_id not in members:
        raise ValidationFailed("Choose a member of the meeting's team.", field="user_id")
    return _add(ctx, loaded, user_id=user_id, discipline=members[user_id][2], guest=False)


def add_guest(
    ctx: ServiceContext,
    meeting_id: int,
    *,
    user_id: int | None = None,
    name: str = "",
    affiliation: str = "",
) -> Staged[int]:
    """Record a guest from outside the team: a user (who then sees what the lead shares) or
    someone named, without an account.

    :raises NotFound, AccessDenied: see ``load_meeting`` (the lead only).
    :raises ValidationFailed: neither a user nor a name, a member of the team, or present
        already.
    """
    loaded = load_meeting(ctx, meeting_id, Act.LEAD_MEETING)
    text = clean_text(affiliation, field="affiliation", limit=NAME_MAX)
    if user_id is not None:
        user = accounts_repo.user(ctx.db, user_id)
        if user is None or not user.is_active:
            raise ValidationFailed("Choose a user.", field="guest_user_id")
        if user_id in {m[0] for m in team_members(ctx, loaded.meeting.team_id)}:
            raise ValidationFailed(
                "A member of the team attends as a member.", field="guest_user_id"
            )
        return _add(ctx, loaded, user_id=user_id, discipline=None, guest=True, affiliation=text)
    named = clean_text(name, field="name", limit=NAME_MAX, required=True)
    return _add(
        ctx, loaded, user_id=None, discipline=None, guest=True, name=named, affiliation=text
    )


def _add(
    ctx: ServiceContext,
    loaded: MeetingInScope,
    *,
    user_id: int | None,
    discipline: str | None,
    guest: bool,
    name: str | None = None,
    affiliation: str | None = None,
) -> Staged[int]:
    present = repository.attendees(ctx.db, loaded.meeting.id)
    if user_id is not None and any(a.user_id == user_id for a in present):
        raise ValidationFailed("That person is recorded as present already.", field="user_id")
    row = Attendee(
        meeting_id=loaded.meeting.id,
        user_id=user_id,
        guest=guest,
        discipline=discipline,
        added_by=loaded.access.actor.user_id,
        added_at=ctx.now,
    )
    row.guest_name = name
    row.guest_affiliation = affiliation
    ctx.db.add(row)
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.MEETING_ATTENDEE_ADDED,
            object_type="meeting_attendee",
            object_id=row.id,
            purpose="guest" if guest else f"member, {discipline or 'no discipline'}",
        ),
    )


def acknowledge(ctx: ServiceContext, meeting_id: int, attendee_id: int) -> Staged[int]:
    """Record an attendee's confidentiality acknowledgement, once per meeting: the attendee
    with its own sign-in, or the lead for someone in the room.

    :raises NotFound: no such attendee of a meeting the actor may open (recorded).
    :raises AccessDenied: neither the lead nor the attendee (recorded).
    :raises ValidationFailed: acknowledged already.
    """
    loaded = load_meeting(ctx, meeting_id, Act.VIEW_MEETING)
    row = repository.attendee(ctx.db, meeting_id, attendee_id)
    if row is None:
        refuse(ctx, object_type="meeting_attendee", object_id=attendee_id, reason="no such one")
    actor = loaded.access.actor
    if row.user_id != actor.user_id and not loaded.may(Act.LEAD_MEETING):
        refuse(
            ctx,
            object_type="meeting_attendee",
            object_id=row.id,
            reason="only the attendee or the meeting's lead acknowledges",
            hide=False,
        )
    if row.acknowledged_at is not None:
        raise ValidationFailed("The acknowledgement is recorded already.")
    row.acknowledged_at = ctx.now
    row.acknowledged_by = actor.user_id
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.MEETING_ATTENDEE_ACKNOWLEDGED,
            object_type="meeting_attendee",
            object_id=row.id,
            purpose="confidentiality acknowledged",
        ),
    )


def quorum(ctx: ServiceContext, loaded: MeetingInScope) -> dto.QuorumView:
    """Whether the disciplines of the members present meet the district model's quorum."""
    model = district_model(ctx)
    present = {
        a.discipline
        for a in repository.attendees(ctx.db, loaded.meeting.id)
        if not a.guest and a.discipline
    }
    q = model.quorum
    return dto.QuorumView(
        model=f"{model.name} ({model.ref})",
        required=[q.labels[k] for k in q.disciplines],
        present=[q.labels.get(k, k.replace("_", " ").capitalize()) for k in sorted(present)],
        # The model's own rule; who knows the student is asked per case, at a determination.
        missing=model.missing_disciplines(present, knows_subject=True),
        knows_subject=q.someone_who_knows_the_subject_label
        if q.someone_who_knows_the_subject
        else None,
    )
