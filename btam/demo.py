"""The demo district: fictional schools, a team, one account for every role and discipline,
the team's fictional cases (:mod:`btam.demo_cases`) and what reached it through its reports
and tip line (:mod:`btam.demo_intake`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from btam.accounts import services
from btam.accounts.models import District, School, Team, User
from btam.audit.actions import AuditAction
from btam.demo_cases import load_cases
from btam.demo_intake import load_intake
from btam.security.actor import Discipline, Role
from btam.services import ServiceContext

DISTRICT = "Riverbend Unified School District"
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
        Discipline.OTHER,
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
    district = ctx.db.execute(
        select(District).where(District.name == DISTRICT)
    ).scalar_one_or_none()
    if district is None:
        district = District(name=DISTRICT)
        ctx.db.add(district)
        ctx.db.flush()
        ctx.commit_with_audit(
            AuditAction.SYSTEM_DEMO_LOADED, object_type="district", object_id=district.id
        )
    codes: dict[str, int] = {}
    for name, code in SCHOOLS:
        school = ctx.db.execute(select(School).where(School.code == code)).scalar_one_or_none()
        if school is None:
            school = services.create_school(ctx, name=name, code=code)
        codes[code] = school.id

    created, existing = [], []
    for account in ACCOUNTS:
        user = ctx.db.execute(
            select(User).where(User.username == account.username)
        ).scalar_one_or_none()
        if user is None:
            services.create_user(
                ctx,
                data=services.UserData(
                    username=account.username,
                    display_name=account.display_name,
                    role=account.role,
                    discipline=account.discipline,
                    district_wide=not account.schools,
                    school_ids=tuple(codes[c] for c in account.schools),
                    agency=account.agency,
                ),
                password=password,
            )
            created.append(account)
        else:
            if reset_passwords:
                services.set_password(ctx, user_id=user.id, password=password)
            if account.agency and not user.agency:
                # An account made before users had an agency.
                user.agency = account.agency
                ctx.commit_with_audit(
                    AuditAction.SYSTEM_DEMO_LOADED,
                    object_type="user",
                    object_id=user.id,
                    purpose="demo account's agency",
                )
            existing.append(account)

    team = ctx.db.execute(select(Team).where(Team.name == TEAM)).scalar_one_or_none()
    if team is None:
        members = ctx.db.execute(
            select(User.id).where(User.username.in_([a.username for a in ACCOUNTS if a.on_team]))
        ).scalars()
        team = services.create_team(
            ctx,
            data=services.TeamData(
                name=TEAM, school_ids=tuple(codes.values()), member_ids=tuple(members)
            ),
        )
    numbers = load_cases(ctx, district_id=district.id, school_ids=codes, team_id=team.id)
    intake = load_intake(ctx, district_id=district.id, school_ids=codes, team_id=team.id)
    return DemoResult(tuple(created), tuple(existing), numbers + intake.cases, intake.tip_code)
