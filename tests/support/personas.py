"""The people of the tests, created through the services so hashing and audit always run.

- ``admin_fay``: district administrator, whole district; users, teams, schools; no case content.
- ``lead_ben``: team lead (administrator discipline) of the North team, North High.
- ``member_gus``: team member (mental health) of the North team.
- ``officer_hal``: team member (law enforcement), a police officer on the North team.
- ``counselor_ana``: counselor at North High, on no team.
- ``teacher_cam``: staff at North High; submits reports only; no second factor required.
- ``outsider_dee``: team lead of the South team, South Middle: another school, another team.
- ``auditor_eve``: auditor, whole district; the audit trail, no case narrative.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyotp
from flask import Flask

from btam.access.actor import Discipline, Role
from btam.accounts import signin
from btam.accounts.services import organisation, users
from btam.audit.context import AuditContext
from btam.context import carry_out
from btam.errors import ValidationFailed

PASSWORD = "quiet harbor lantern seven"


@dataclass(frozen=True)
class Persona:
    username: str
    password: str
    user_id: int
    role: Role
    totp_secret: str | None


@dataclass(frozen=True)
class World:
    people: dict[str, Persona]
    school_ids: dict[str, int]
    team_ids: dict[str, int]

    def __getattr__(self, name: str) -> Persona:
        try:
            return self.people[name]
        except KeyError:
            raise AttributeError(name) from None


SPECS = (
    ("admin_fay", "Fay Admin", Role.DISTRICT_ADMIN, None, ()),
    ("lead_ben", "Ben Lead", Role.TEAM_LEAD, Discipline.ADMINISTRATOR, ("NHS",)),
    ("member_gus", "Gus Member", Role.TEAM_MEMBER, Discipline.MENTAL_HEALTH, ("NHS",)),
    ("officer_hal", "Hal Officer", Role.TEAM_MEMBER, Discipline.LAW_ENFORCEMENT, ("NHS",)),
    ("counselor_ana", "Ana Counselor", Role.COUNSELOR, None, ("NHS",)),
    ("teacher_cam", "Cam Teacher", Role.STAFF, None, ("NHS",)),
    ("outsider_dee", "Dee Outsider", Role.TEAM_LEAD, Discipline.ADMINISTRATOR, ("SMS",)),
    ("auditor_eve", "Eve Auditor", Role.AUDITOR, None, ()),
)


def system_ctx(app: Flask):  # type: ignore[no-untyped-def]
    rt = app.extensions["btam"]
    return rt.context(rt.stores.case_write_sessions(), AuditContext.system())


def enrol(app: Flask, user_id: int) -> str:
    """Enrol a TOTP secret for a user through the services; return the secret.

    The code of the previous step is used, so the test's sign-ins can use the current and
    next ones; if a step boundary passes in between, the then-previous step is tried.
    """
    ctx = system_ctx(app)
    try:
        setup = signin.pending_enrolment(ctx, user_id=user_id)
        for _attempt in range(2):
            previous = (int(time.time() // 30) - 1) * 30
            try:
                signin.confirm_pending_enrolment(
                    ctx, user_id=user_id, code=pyotp.TOTP(setup.secret).at(previous)
                )
                break
            except ValidationFailed:
                continue
        else:
            raise AssertionError("could not enrol a test persona")
    finally:
        ctx.db.close()
    return setup.secret


def build_world(app: Flask) -> World:
    ctx = system_ctx(app)
    try:
        carry_out(ctx, organisation.create_district(ctx, name="Test District"))
        schools = {
            "NHS": carry_out(
                ctx, organisation.create_school(ctx, name="North High School", code="NHS")
            ).id,
            "SMS": carry_out(
                ctx, organisation.create_school(ctx, name="South Middle School", code="SMS")
            ).id,
        }
        ids: dict[str, tuple[int, Role]] = {}
        for username, name, role, discipline, codes in SPECS:
            created = carry_out(
                ctx,
                users.create_user(
                    ctx,
                    data=users.UserData(
                        username=username,
                        display_name=name,
                        role=role,
                        discipline=discipline,
                        district_wide=not codes,
                        school_ids=tuple(schools[c] for c in codes),
                    ),
                    password=PASSWORD,
                ),
            )
            ids[username] = (created.user_id, role)
        teams = {
            "north": carry_out(
                ctx,
                organisation.create_team(
                    ctx,
                    data=organisation.TeamData(
                        name="North Team",
                        school_ids=(schools["NHS"],),
                        member_ids=tuple(
                            ids[u][0] for u in ("lead_ben", "member_gus", "officer_hal")
                        ),
                    ),
                ),
            ).id,
            "south": carry_out(
                ctx,
                organisation.create_team(
                    ctx,
                    data=organisation.TeamData(
                        name="South Team",
                        school_ids=(schools["SMS"],),
                        member_ids=(ids["outsider_dee"][0],),
                    ),
                ),
            ).id,
        }
    finally:
        ctx.db.close()
    people = {}
    for username, (user_id, role) in ids.items():
        secret = None if role is Role.STAFF else enrol(app, user_id)
        people[username] = Persona(username, PASSWORD, user_id, role, secret)
    return World(people, schools, teams)


def with_district_member(
    app: Flask,
    world: World,
    username: str = "roamer_ivy",
    *,
    role: Role = Role.TEAM_MEMBER,
    teams: tuple[str, ...] = ("north", "south"),
) -> World:
    """The world with one more persona, created through the services: a team lead or member
    (mental health) whose scope is the whole district, on ``teams``.

    ``roamer_ivy`` by default: a district-wide member of the North and South teams, the one
    who sees both schools' cases and so may merge people known to each.
    """
    ctx = system_ctx(app)
    try:
        created = carry_out(
            ctx,
            users.create_user(
                ctx,
                data=users.UserData(
                    username=username,
                    display_name=username.replace("_", " ").title(),
                    role=role,
                    discipline=Discipline.MENTAL_HEALTH,
                    district_wide=True,
                    school_ids=(),
                ),
                password=PASSWORD,
            ),
        )
        for team in teams:
            row = organisation.get_team(ctx, world.team_ids[team])
            carry_out(
                ctx,
                organisation.update_team(
                    ctx,
                    team_id=row.id,
                    data=organisation.TeamData(
                        name=row.name,
                        school_ids=row.school_ids,
                        member_ids=(*row.member_ids, created.user_id),
                    ),
                ),
            )
    finally:
        ctx.db.close()
    secret = enrol(app, created.user_id)
    persona = Persona(username, PASSWORD, created.user_id, role, secret)
    return World({**world.people, username: persona}, world.school_ids, world.team_ids)
