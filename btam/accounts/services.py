"""The district administrator's work: users, teams and schools."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from btam.access.actor import ROLES_WITH_DISCIPLINE, Discipline, Role
from btam.access.permissions import Permission
from btam.access.refusal import require_permission
from btam.accounts import authn, repository
from btam.accounts.dto import SchoolRow, TeamRow, UserRow
from btam.accounts.models import District, School, Team, User
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.context import ServiceContext, Staged, staged
from btam.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from btam.security.passwords import temporary_password

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


@dataclass(frozen=True)
class UserData:
    """What an administrator sets on a user."""

    username: str
    display_name: str
    role: Role
    discipline: Discipline | None
    district_wide: bool
    school_ids: tuple[int, ...]
    # The outside employer of a team member (police department, clinic); None for staff.
    agency: str | None = None


@dataclass(frozen=True)
class TeamData:
    name: str
    school_ids: tuple[int, ...]
    member_ids: tuple[int, ...]


@dataclass(frozen=True)
class NewCredentials:
    """A temporary password, shown once to the administrator and changed at first sign-in."""

    user_id: int
    username: str
    temporary_password: str


def the_district(ctx: ServiceContext) -> District:
    """The deployment's district.

    :raises NotFound: before ``btam demo`` or ``btam create-district`` has made one.
    """
    district = repository.first_district(ctx.db)
    if district is None:
        raise NotFound("no district")
    return district


def create_district(ctx: ServiceContext, *, name: str) -> Staged[District]:
    """Create the deployment's district (the command line does this once).

    :raises AccessDenied: anyone but the system actor.
    :raises ValidationFailed: an empty or overlong name.
    """
    if ctx.actor is not None:
        raise AccessDenied("only the command line creates a district")
    text = name.strip()
    if not text or len(text) > 200:
        raise ValidationFailed("Name the district (at most 200 characters).", field="name")
    district = District(name=text)
    ctx.db.add(district)
    ctx.db.flush()
    return staged(district, _event(AuditAction.SYSTEM_DEMO_LOADED, "district", district.id))


def _schools(ctx: ServiceContext, ids: Iterable[int]) -> list[School]:
    wanted = set(ids)
    found = list(repository.schools_by_ids(ctx.db, wanted))
    if len(found) != len(wanted):
        raise ValidationFailed("One of the schools does not exist.", field="school_ids")
    return found


def _validate_user(data: UserData) -> None:
    if not USERNAME.match(data.username):
        raise ValidationFailed(
            "User names are 3 to 64 lower-case letters, digits, dots, dashes or underscores.",
            field="username",
        )
    if not data.display_name.strip() or len(data.display_name) > 200:
        raise ValidationFailed(
            "Enter the person's name (at most 200 characters).", field="display_name"
        )
    if data.role in ROLES_WITH_DISCIPLINE and data.discipline is None:
        raise ValidationFailed("Team leads and members need a discipline.", field="discipline")
    if data.role not in ROLES_WITH_DISCIPLINE and data.discipline is not None:
        raise ValidationFailed("Only team leads and members have a discipline.", field="discipline")
    if not data.district_wide and not data.school_ids:
        raise ValidationFailed(
            "Choose at least one school, or the whole district.", field="school_ids"
        )


def _get_user(ctx: ServiceContext, user_id: int) -> User:
    user = repository.user(ctx.db, user_id)
    if user is None:
        raise NotFound("user")
    return user


def user_row(user: User) -> UserRow:
    """A user as the admin pages show it."""
    schools = sorted(user.schools, key=lambda s: s.code)
    return UserRow(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        discipline=user.discipline,
        district_wide=user.district_wide,
        is_active=user.is_active,
        mfa_enrolled=user.mfa_enrolled,
        agency=user.agency,
        school_ids=tuple(s.id for s in schools),
        school_codes=tuple(s.code for s in schools),
    )


def list_users(ctx: ServiceContext) -> list[UserRow]:
    """Every user, by name (for the administrator, and the auditor's filter).

    :raises AccessDenied: the actor may neither manage users nor read the trail.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE, Permission.AUDIT_TRAIL_READ)
    return [user_row(u) for u in repository.all_users(ctx.db)]


def get_user(ctx: ServiceContext, user_id: int) -> UserRow:
    """One user.

    :raises AccessDenied: the actor may not manage users.
    :raises NotFound: when there is no such user.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    return user_row(_get_user(ctx, user_id))


def create_user(
    ctx: ServiceContext, *, data: UserData, password: str | None = None
) -> Staged[NewCredentials]:
    """Create a user; without ``password`` a temporary one is generated and must be changed.

    :raises ValidationFailed: on a malformed field or a refused password.
    :raises Conflict: when the user name is taken.
    :raises AuditUnavailable: when the change cannot be recorded (nothing is stored).
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    data = UserData(**{**data.__dict__, "username": data.username.strip().casefold()})
    _validate_user(data)
    if repository.username_taken(ctx.db, data.username):
        raise Conflict("That user name is taken.", field="username")
    if password is not None:
        problems = ctx.password_rules.problems(password, context=(data.username, data.display_name))
        if problems:
            raise ValidationFailed(" ".join(problems), field="password")
    chosen = password or temporary_password()
    user = User(
        username=data.username,
        display_name=data.display_name.strip(),
        role=data.role,
        discipline=data.discipline,
        district_wide=data.district_wide,
        agency=_agency(data.agency),
        password_hash=ctx.hashing.hash(chosen),
        must_change_password=password is None,
        password_changed_at=ctx.now,
        created_at=ctx.now,
    )
    user.schools = _schools(ctx, data.school_ids)
    ctx.db.add(user)
    ctx.db.flush()
    return staged(
        NewCredentials(user.id, user.username, chosen),
        _event(AuditAction.ADMIN_USER_CREATED, "user", user.id),
    )


def update_user(ctx: ServiceContext, *, user_id: int, data: UserData) -> Staged[None]:
    """Change a user's name, role, discipline and scope; the user name stays.

    Sessions end when the role or scope changes, so no page keeps showing what the user may
    no longer see.

    :raises NotFound: when there is no such user.
    :raises ValidationFailed: on a malformed field.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    user = _get_user(ctx, user_id)
    _validate_user(UserData(**{**data.__dict__, "username": user.username}))
    if (
        ctx.actor is not None
        and user.id == ctx.actor.user_id
        and user.role is Role.DISTRICT_ADMIN
        and data.role is not Role.DISTRICT_ADMIN
    ):
        # Otherwise the last administrator could leave the district without one.
        raise ValidationFailed("You cannot take away your own administrator role.", field="role")
    before = (
        user.role,
        user.discipline,
        user.district_wide,
        user.agency,
        {s.id for s in user.schools},
    )
    user.display_name = data.display_name.strip()
    user.role = data.role
    user.discipline = data.discipline
    user.district_wide = data.district_wide
    user.agency = _agency(data.agency)
    user.schools = _schools(ctx, data.school_ids)
    if user.role not in ROLES_WITH_DISCIPLINE:
        user.teams = []
    after = (
        user.role,
        user.discipline,
        user.district_wide,
        user.agency,
        {s.id for s in user.schools},
    )
    if before != after:
        authn.end_user_sessions(ctx.db, user_id=user.id, reason="rights_changed", now=ctx.now)
    return staged(None, _event(AuditAction.ADMIN_USER_UPDATED, "user", user.id))


def _agency(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > 200:
        raise ValidationFailed("At most 200 characters.", field="agency")
    return text or None


def set_user_active(ctx: ServiceContext, *, user_id: int, active: bool) -> Staged[None]:
    """Disable a user (every session ends at once) or enable them again.

    :raises NotFound: when there is no such user.
    :raises ValidationFailed: when administrators would lock themselves out.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    user = _get_user(ctx, user_id)
    if not active and ctx.actor is not None and user.id == ctx.actor.user_id:
        raise ValidationFailed("You cannot disable your own account.")
    user.is_active = active
    user.disabled_at = None if active else ctx.now
    if not active:
        authn.end_user_sessions(ctx.db, user_id=user.id, reason="disabled", now=ctx.now)
    action = AuditAction.ADMIN_USER_ENABLED if active else AuditAction.ADMIN_USER_DISABLED
    return staged(None, _event(action, "user", user.id))


def reset_mfa(ctx: ServiceContext, *, user_id: int) -> Staged[None]:
    """Remove a user's authenticator and recovery codes; they enrol again at next sign-in.

    :raises NotFound: when there is no such user.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    user = _get_user(ctx, user_id)
    user.mfa_secret = None
    user.mfa_pending_secret = None
    user.mfa_enrolled_at = None
    user.mfa_last_step = 0
    for code in repository.recovery_codes_of(ctx.db, user.id):
        ctx.db.delete(code)
    authn.end_user_sessions(ctx.db, user_id=user.id, reason="mfa_reset", now=ctx.now)
    return staged(None, _event(AuditAction.ADMIN_USER_MFA_RESET, "user", user.id))


def reset_password(ctx: ServiceContext, *, user_id: int) -> Staged[NewCredentials]:
    """Give a user a temporary password (shown once) and end their sessions.

    :raises NotFound: when there is no such user.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    user = _get_user(ctx, user_id)
    chosen = temporary_password()
    user.password_hash = ctx.hashing.hash(chosen)
    user.must_change_password = True
    user.password_changed_at = ctx.now
    authn.end_user_sessions(ctx.db, user_id=user.id, reason="password_reset", now=ctx.now)
    return staged(
        NewCredentials(user.id, user.username, chosen),
        _event(AuditAction.ADMIN_USER_PASSWORD_RESET, "user", user.id),
    )


def set_password(ctx: ServiceContext, *, user_id: int, password: str) -> Staged[None]:
    """Set a password chosen by an operator at the shell (``btam create-user``, the demo).

    :raises NotFound: when there is no such user.
    :raises ValidationFailed: when the password breaks the rules.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    user = _get_user(ctx, user_id)
    problems = ctx.password_rules.problems(password, context=(user.username, user.display_name))
    if problems:
        raise ValidationFailed(" ".join(problems), field="password")
    user.password_hash = ctx.hashing.hash(password)
    user.must_change_password = False
    user.password_changed_at = ctx.now
    authn.end_user_sessions(ctx.db, user_id=user.id, reason="password_reset", now=ctx.now)
    return staged(None, _event(AuditAction.ADMIN_USER_PASSWORD_RESET, "user", user.id))


def list_schools(ctx: ServiceContext) -> list[SchoolRow]:
    """Every school, by name, and whether an active team covers it.

    :raises AccessDenied: the actor may neither manage schools nor read the trail.
    """
    require_permission(ctx, Permission.ADMIN_SCHOOLS_MANAGE, Permission.AUDIT_TRAIL_READ)
    covered = {s.id for t in repository.all_teams(ctx.db) if t.is_active for s in t.schools}
    return [
        SchoolRow(s.id, s.name, s.code, s.is_active, uncovered=s.is_active and s.id not in covered)
        for s in repository.all_schools(ctx.db)
    ]


def create_school(ctx: ServiceContext, *, name: str, code: str) -> Staged[SchoolRow]:
    """Add a school to the district.

    :raises ValidationFailed: on an empty or overlong name or code.
    :raises Conflict: when the name or code is taken.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_SCHOOLS_MANAGE)
    name, code = name.strip(), code.strip().upper()
    if not name or len(name) > 200:
        raise ValidationFailed("Enter the school's name (at most 200 characters).", field="name")
    if not re.fullmatch(r"[A-Z0-9-]{2,20}", code):
        raise ValidationFailed("The code is 2 to 20 letters, digits or dashes.", field="code")
    if repository.school_name_or_code_taken(ctx.db, name, code):
        raise Conflict("A school with that name or code exists.", field="name")
    school = School(district_id=the_district(ctx).id, name=name, code=code)
    ctx.db.add(school)
    ctx.db.flush()
    return staged(
        SchoolRow(school.id, school.name, school.code, True, uncovered=True),
        _event(AuditAction.ADMIN_SCHOOL_CREATED, "school", school.id),
    )


def team_row(team: Team) -> TeamRow:
    """A team as the admin pages show it."""
    schools = sorted(team.schools, key=lambda s: s.code)
    return TeamRow(
        id=team.id,
        name=team.name,
        is_active=team.is_active,
        school_ids=tuple(s.id for s in schools),
        school_codes=tuple(s.code for s in schools),
        member_ids=tuple(sorted(m.id for m in team.members)),
    )


def list_teams(ctx: ServiceContext) -> list[TeamRow]:
    """Every team, by name.

    :raises AccessDenied: the actor may not manage teams.
    """
    require_permission(ctx, Permission.ADMIN_TEAMS_MANAGE)
    return [team_row(t) for t in repository.all_teams(ctx.db)]


def _get_team(ctx: ServiceContext, team_id: int) -> Team:
    team = repository.team(ctx.db, team_id)
    if team is None:
        raise NotFound("team")
    return team


def get_team(ctx: ServiceContext, team_id: int) -> TeamRow:
    """One team.

    :raises AccessDenied: the actor may not manage teams.
    :raises NotFound: when there is no such team.
    """
    require_permission(ctx, Permission.ADMIN_TEAMS_MANAGE)
    return team_row(_get_team(ctx, team_id))


def team_candidates(ctx: ServiceContext, team_id: int | None = None) -> list[UserRow]:
    """Users who can sit on a team: active team leads and members, and the team's present
    members even when disabled (so editing the team does not drop them unseen).

    :raises AccessDenied: the actor may not manage teams.
    """
    require_permission(ctx, Permission.ADMIN_TEAMS_MANAGE)
    present = _get_team(ctx, team_id).members if team_id is not None else []
    rows = repository.team_candidates(ctx.db, ROLES_WITH_DISCIPLINE, [m.id for m in present])
    return [user_row(u) for u in rows]


def _apply_team(ctx: ServiceContext, team: Team, data: TeamData) -> None:
    name = data.name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("Enter the team's name (at most 200 characters).", field="name")
    if repository.team_name_taken(ctx.db, name, other_than=team.id):
        raise Conflict("A team with that name exists.", field="name")
    if not data.school_ids:
        raise ValidationFailed("A team covers at least one school.", field="school_ids")
    members = list(repository.users_by_ids(ctx.db, data.member_ids))
    if len(members) != len(set(data.member_ids)) or any(
        m.role not in ROLES_WITH_DISCIPLINE for m in members
    ):
        raise ValidationFailed("Only team leads and members can sit on a team.", field="member_ids")
    team.name = name
    team.schools = _schools(ctx, data.school_ids)
    team.members = members


def create_team(ctx: ServiceContext, *, data: TeamData) -> Staged[TeamRow]:
    """Create a team covering schools, with its members.

    :raises ValidationFailed: on a malformed field.
    :raises Conflict: when the name is taken.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_TEAMS_MANAGE)
    team = Team(district_id=the_district(ctx).id, name="")
    _apply_team(ctx, team, data)
    ctx.db.add(team)
    ctx.db.flush()
    return staged(team_row(team), _event(AuditAction.ADMIN_TEAM_CREATED, "team", team.id))


def update_team(ctx: ServiceContext, *, team_id: int, data: TeamData) -> Staged[None]:
    """Change a team's name, schools and members; members who leave lose their sessions.

    :raises NotFound: when there is no such team.
    :raises ValidationFailed: on a malformed field.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_TEAMS_MANAGE)
    team = _get_team(ctx, team_id)
    before = {m.id for m in team.members}
    _apply_team(ctx, team, data)
    for gone in before - {m.id for m in team.members}:
        authn.end_user_sessions(ctx.db, user_id=gone, reason="rights_changed", now=ctx.now)
    return staged(None, _event(AuditAction.ADMIN_TEAM_UPDATED, "team", team.id))


def set_team_active(ctx: ServiceContext, *, team_id: int, active: bool) -> Staged[None]:
    """Disable a team (its members lose its cases at their next request) or enable it again.

    :raises NotFound: when there is no such team.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_TEAMS_MANAGE)
    team = _get_team(ctx, team_id)
    team.is_active = active
    if not active:
        for member in team.members:
            authn.end_user_sessions(ctx.db, user_id=member.id, reason="rights_changed", now=ctx.now)
    action = AuditAction.ADMIN_TEAM_ENABLED if active else AuditAction.ADMIN_TEAM_DISABLED
    return staged(None, _event(action, "team", team.id))


def user_names(ctx: ServiceContext, ids: Iterable[int]) -> dict[int, str]:
    """Display names of staff accounts by id (for the auditor's trail)."""
    return repository.display_names(ctx.db, ids)


def school_names(ctx: ServiceContext) -> dict[int, str]:
    """School names by id."""
    return {s.id: s.name for s in repository.all_schools(ctx.db)}


def _event(action: AuditAction, object_type: str, object_id: int) -> AuditEvent:
    return AuditEvent(action, object_type=object_type, object_id=object_id)
