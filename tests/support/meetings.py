"""Meetings seeded through the services, as a team lead would schedule and prepare them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from btam.context import carry_out
from btam.meetings.services import agenda, attendance, schedule
from btam.meetings.terms import MeetingKind
from tests.support.cases import acting_as
from tests.support.personas import World


def schedule_meeting(
    app: Flask,
    world: World,
    *,
    by: str = "lead_ben",
    team: str = "north",
    in_days: float = 2,
    kind: MeetingKind = MeetingKind.REGULAR,
    build: bool = True,
    attendees: tuple[str, ...] = (),
) -> int:
    """A meeting of ``team`` ``in_days`` from now (negative: past), its agenda built and
    ``attendees`` recorded present by the team's lead ``by``."""
    with acting_as(app, world, by) as ctx:
        meeting_id = carry_out(
            ctx,
            schedule.schedule_meeting(
                ctx,
                team_id=world.team_ids[team],
                starts_at=datetime.now(UTC) + timedelta(days=in_days),
                place="Room 204",
                kind=kind,
            ),
        )
        if build:
            carry_out(ctx, agenda.build_agenda(ctx, meeting_id))
        for who in attendees:
            carry_out(ctx, attendance.add_attendee(ctx, meeting_id, world.people[who].user_id))
    return meeting_id
