"""Who is acting: roles, disciplines and the signed-in principal passed into every service."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    DISTRICT_ADMIN = "district_admin"
    TEAM_LEAD = "team_lead"
    TEAM_MEMBER = "team_member"
    COUNSELOR = "counselor"
    STAFF = "staff"
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.DISTRICT_ADMIN: "District administrator (IT)",
    Role.TEAM_LEAD: "Team lead",
    Role.TEAM_MEMBER: "Team member",
    Role.COUNSELOR: "Counselor",
    Role.STAFF: "Staff",
    Role.AUDITOR: "Auditor",
}


class Discipline(StrEnum):
    ADMINISTRATOR = "administrator"
    MENTAL_HEALTH = "mental_health"
    LAW_ENFORCEMENT = "law_enforcement"
    INSTRUCTION = "instruction"  # a teacher or instructional staff member
    OTHER = "other"

    @property
    def label(self) -> str:
        return DISCIPLINE_LABELS[self]


DISCIPLINE_LABELS = {
    Discipline.ADMINISTRATOR: "Administrator",
    Discipline.MENTAL_HEALTH: "Mental health",
    Discipline.LAW_ENFORCEMENT: "Law enforcement",
    Discipline.INSTRUCTION: "Instruction",
    Discipline.OTHER: "Other",
}

# Team roles sit on a multidisciplinary team, so their discipline counts towards the quorum.
ROLES_WITH_DISCIPLINE = frozenset({Role.TEAM_LEAD, Role.TEAM_MEMBER})

# Every role that can reach case content, accounts or the audit trail signs in with a second
# factor; a staff member only submits reports and sees their status.
ROLES_REQUIRING_MFA = frozenset(set(Role) - {Role.STAFF})


@dataclass(frozen=True)
class Actor:
    """The signed-in user as services see it; built once per request from the server session.

    It also satisfies Flask-Login's user protocol; ``get_id`` answers the session token, so
    Flask-Login's cookie holds a server-side session reference and never a user id.
    """

    user_id: int
    username: str
    display_name: str
    role: Role
    discipline: Discipline | None
    district_wide: bool
    school_ids: frozenset[int]
    team_ids: frozenset[int]
    must_change_password: bool = False
    # The outside employer of a team member (a police department, a clinic), if any.
    agency: str | None = None
    session_token: str = field(default="", repr=False, compare=False)

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.session_token


@dataclass(frozen=True)
class SystemActor:
    """The command line acting on the operator's behalf (``btam demo``, ``btam create-user``)."""

    name: str = "system"
    role: str = "system"
    user_id: None = None
