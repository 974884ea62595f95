"""What meetings an actor may list: SQL filters from the policy's rules for meetings."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select

from btam.access.actor import Role
from btam.access.policy import CASE_RULES, MEETING_ACTS, Access, Act, Rel
from btam.meetings.models import Attendee, Meeting


def visible_meetings(access: Access, act: Act = Act.VIEW_MEETING) -> ColumnElement[bool]:
    """A filter on :class:`Meeting` keeping the meetings ``allowed(access, act, meeting)``
    allows (see ``policy._can_on_meeting``)."""
    actor = access.actor
    if act not in MEETING_ACTS:
        return false()  # the policy decides no other act on a meeting
    allowed_by = CASE_RULES[act].get(actor.role, ())
    on_team = Meeting.team_id.in_(sorted(actor.team_ids))
    clauses: list[ColumnElement[bool]] = []
    if Rel.TEAM in allowed_by:
        clauses.append(on_team)
    if Rel.LEAD in allowed_by and actor.role is Role.TEAM_LEAD:
        clauses.append(on_team)
    if Rel.GUEST in allowed_by:
        guest_of = select(Attendee.meeting_id).where(
            Attendee.user_id == actor.user_id, Attendee.guest.is_(True)
        )
        clauses.append(and_(~on_team, Meeting.id.in_(guest_of)))
    return or_(*clauses) if clauses else false()
