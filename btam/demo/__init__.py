"""The demo district: fictional schools, a team, one account for every role and discipline,
the team's fictional cases (:mod:`btam.demo.cases`), what reached it through its reports
and tip line (:mod:`btam.demo.intake`) and its meetings (:mod:`btam.demo.meetings`)."""

from __future__ import annotations

from dataclasses import dataclass

from btam.access.actor import Discipline, Role
from btam.accounts import repository as accounts_repo
from btam.accounts.services import organisation, users
from btam.context import ServiceContext, carry_out
from btam.demo.cases import load_cases
from btam.demo.intake import load_intake
from btam.demo.meetings import load_meetings
from btam.demo.referrals import load_referrals

DISTRICT = "Riverbend Unified School District"
TIME_ZONE = "America/Chicago"
SCHOOLS = (("Riverbend High School", "RHS"), ("Cedar Park Middle School", "CPMS"))
TEAM = "Riverbend District Threat Assessment Team"
OFFICER_AGENCY = "Riverbend Police Department"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: Role
    discipline: Discipline | None
    schools: tuple[str, ...]  # school codes; empty means the whole district
    on_team: bool = False
    agency: str | None = None  # the outside employer of a team member

    @property
    def description(self) -> str:
        parts = [self.role.label]
        if self.discipline:
            parts.append(self.discipline.label)
        if self.agency:
            parts.append(self.agency)
        parts.append(", ".join(self.schools) if self.schools else "whole district")
        return " · ".join(parts)


ACCOUNTS = (
    DemoAccount("admin.diaz", "Marisol Diaz", Role.DISTRICT_ADMIN, None, ()),
    DemoAccount(
        "lead.okafor", "Daniel Okafor", Role.TEAM_LEAD, Discipline.ADMINISTRATOR, (), on_team=True
    ),
    DemoAccount(
        "psych.lindqvist",
        "Anna Lindqvist",
        Role.TEAM_MEMBER,
        Discipline.MENTAL_HEALTH,
        (),
        on_team=True,
    ),
    DemoAccount(
        "sro.reyes",
        "Officer Tomas Reyes",
        Role.TEAM_MEMBER,
        Discipline.LAW_ENFORCEMENT,
        ("RHS", "CPMS"),
        on_team=True,
        agency=OFFICER_AGENCY,
    ),
    DemoAccount(
        "ap.chen", "Grace Chen", Role.TEAM_MEMBER, Discipline.ADMINISTRATOR, ("RHS",), on_team=True
    ),
    DemoAccount(
        "teacher.haddad",
        "Samir Haddad",
        Role.TEAM_MEMBER,
        Discipline.INSTRUCTION,
        ("CPMS",),
        on_team=True,
    ),
    DemoAccount("counselor.ng", "Priya Ng", Role.COUNSELOR, None, ("RHS",)),
    DemoAccount("teacher.brooks", "Evelyn Brooks", Role.STAFF, None, ("CPMS",)),
    DemoAccount("auditor.mensah", "Kwame Mensah", Role.AUDITOR, None, ()),
)


@dataclass(frozen=True)
class DemoResult:
    created: tuple[DemoAccount, ...]
    existing: tuple[DemoAccount, ...]
    # Numbers of the cases loaded by this run (the demo cases, then those opened at the
    # triage of a demo report); empty when the district had cases and reports already.
    cases: tuple[str, ...] = ()
    # The follow-up code of the demo tip with a conversation, when this run submitted it: a
    # tipster's code is shown once and only a hash of it is kept.
    tip_code: str | None = None


def load_demo(ctx: ServiceContext, *, password: str, reset_passwords: bool = False) -> DemoResult:
    """Create what is missing of the demo district; existing records are left as they are.

    With ``reset_passwords`` the existing demo accounts get ``password`` too. The demo cases
    are loaded only while the district has no case at all, the demo reports and tips while it
    has no report, so a second run adds none.

    :raises ValidationFailed: when ``password`` breaks the password rules.
    :raises AuditUnavailable: when the changes cannot be recorded.
    """
    district = accounts_repo.district_named(ctx.db, DISTRICT)
    if district is None:
        district = carry_out(
            ctx, organisation.create_district(ctx, name=DISTRICT, time_zone=TIME_ZONE)
        )
    codes: dict[str, int] = {s.code: s.id for s in organisation.list_schools(ctx)}
    for name, code in SCHOOLS:
        if code not in codes:
            codes[code] = carry_out(ctx, organisation.create_school(ctx, name=name, code=code)).id

    created, existing = [], []
    for account in ACCOUNTS:
        user = accounts_repo.user_by_username(ctx.db, account.username)
        if user is None:
            carry_out(
                ctx,
                users.create_user(
                    ctx,
                    data=users.UserData(
                        username=account.username,
                        display_name=account.display_name,
                        role=account.role,
                        discipline=account.discipline,
                        district_wide=not account.schools,
                        school_ids=tuple(codes[c] for c in account.schools),
                        agency=account.agency,
                    ),
                    password=password,
                ),
            )
            created.append(account)
        else:
            if reset_passwords:
                carry_out(ctx, users.set_password(ctx, user_id=user.id, password=password))
            existing.append(account)

    team_id = next((t.id for t in organisation.list_teams(ctx) if t.name == TEAM), None)
    if team_id is None:
        members = [
            u.id
            for a in ACCOUNTS
            if a.on_team and (u := accounts_repo.user_by_username(ctx.db, a.username))
        ]
        team_id = carry_out(
            ctx,
            organisation.create_team(
                ctx,
                data=organisation.TeamData(
                    name=TEAM, school_ids=tuple(codes.values()), member_ids=tuple(members)
                ),
            ),
        ).id
    numbers = load_cases(ctx, district_id=district.id, school_ids=codes, team_id=team_id)
    load_referrals(ctx, numbers)
    intake = load_intake(ctx, district_id=district.id, school_ids=codes, team_id=team_id)
    load_meetings(ctx, team_id=team_id, numbers=numbers)
    return DemoResult(tuple(created), tuple(existing), numbers + intake.cases, intake.tip_code)
