"""The district administrator's work: users, teams and schools."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from btam.accounts.models import District, RecoveryCode, School, Team, User
from btam.audit.actions import AuditAction
from btam.errors import Conflict, NotFound, ValidationFailed
from btam.security import authn
from btam.security.actor import ROLES_WITH_DISCIPLINE, Discipline, Role
from btam.security.passwords import temporary_password
from btam.services import ServiceContext

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
    district = ctx.db.execute(select(District).order_by(District.id)).scalars().first()
    if district is None:
        raise NotFound("no district")
    return district


def _schools(ctx: ServiceContext, ids: Iterable[int]) -> list[School]:
    wanted = set(ids)
    found = list(ctx.db.execute(select(School).where(School.id.in_(wanted))).scalars())
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
    user = ctx.db.get(User, user_id)
    if user is None:
        raise NotFound("user")
    return user


def list_users(ctx: ServiceContext) -> list[User]:
    """Every user, by name."""
    return list(ctx.db.execute(select(User).order_by(User.display_name)).scalars())


def get_user(ctx: ServiceContext, user_id: int) -> User:
    """One user.

    :raises NotFound: when there is no such user.
    """
    return _get_user(ctx, user_id)


def create_user(
    ctx: ServiceContext, *, data: UserData, password: str | None = None
) -> NewCredentials:
    """Create a user; without ``password`` a temporary one is generated and must be changed.

    :raises ValidationFailed: on a malformed field or a refused password.
    :raises Conflict: when the user name is taken.
    :raises AuditUnavailable: when the change cannot be recorded (nothing is stored).
    """
    data = UserData(**{**data.__dict__, "username": data.username.strip().casefold()})
    _validate_user(data)
    taken = ctx.db.execute(select(User.id).where(User.username == data.username)).first()
    if taken:
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
    ctx.commit_with_audit(AuditAction.ADMIN_USER_CREATED, object_type="user", object_id=user.id)
    return NewCredentials(user.id, user.username, chosen)


def update_user(ctx: ServiceContext, *, user_id: int, data: UserData) -> None:
    """Change a user's name, role, discipline and scope; the user name stays.

    Sessions end when the role or scope changes, so no page keeps showing what the user may
    no longer see.

    :raises NotFound: when there is no such user.
    :raises ValidationFailed: on a malformed field.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
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
    ctx.commit_with_audit(AuditAction.ADMIN_USER_UPDATED, object_type="user", object_id=user.id)


def _agency(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > 200:
        raise ValidationFailed("At most 200 characters.", field="agency")
    return text or None


def set_user_active(ctx: ServiceContext, *, user_id: int, active: bool) -> None:
    """Disable a user (every session ends at once) or enable them again.

    :raises NotFound: when there is no such user.
    :raises ValidationFailed: when administrators would lock themselves out.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    user = _get_user(ctx, user_id)
    if not active and ctx.actor is not None and user.id == ctx.actor.user_id:
        raise ValidationFailed("You cannot disable your own account.")
    user.is_active = active
    user.disabled_at = None if active else ctx.now
    if not active:
        authn.end_user_sessions(ctx.db, user_id=user.id, reason="disabled", now=ctx.now)
    ctx.commit_with_audit(
        AuditAction.ADMIN_USER_ENABLED if active else AuditAction.ADMIN_USER_DISABLED,
        object_type="user",
        object_id=user.id,
    )


def reset_mfa(ctx: ServiceContext, *, user_id: int) -> None:
    """Remove a user's authenticator and recovery codes; they enrol again at next sign-in.

    :raises NotFound: when there is no such user.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    user = _get_user(ctx, user_id)
    user.mfa_secret = None
    user.mfa_pending_secret = None
    user.mfa_enrolled_at = None
    user.mfa_last_step = 0
    for code in ctx.db.execute(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id)
    ).scalars():
        ctx.db.delete(code)
    authn.end_user_sessions(ctx.db, user_id=user.id, reason="mfa_reset", now=ctx.now)
    ctx.commit_with_audit(AuditAction.ADMIN_USER_MFA_RESET, object_type="user", object_id=user.id)


def reset_password(ctx: ServiceContext, *, user_id: int) -> NewCredentials:
    """Give a user a temporary password (shown once) and end their sessions.

    :raises NotFound: when there is no such user.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    user = _get_user(ctx, user_id)
    chosen = temporary_password()
    user.password_hash = ctx.hashing.hash(chosen)
    user.must_change_password = True
    user.password_changed_at = ctx.now
    authn.end_user_sessions(ctx.db, user_id=user.id, reason="password_reset", now=ctx.now)
    ctx.commit_with_audit(
        AuditAction.ADMIN_USER_PASSWORD_RESET, object_type="user", object_id=user.id
    )
    return NewCredentials(user.id, user.username, chosen)


def set_password(ctx: ServiceContext, *, user_id: int, password: str) -> None:
    """Set a password chosen by an operator at the shell (``btam create-user``, the demo).

    :raises NotFound: when there is no such user.
    :raises ValidationFailed: when the password breaks the rules.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    user = _get_user(ctx, user_id)
    problems = ctx.password_rules.problems(password, context=(user.username, user.display_name))
    if problems:
        raise ValidationFailed(" ".join(problems), field="password")
    user.password_hash = ctx.hashing.hash(password)
    user.must_change_password = False
    user.password_changed_at = ctx.now
    authn.end_user_sessions(ctx.db, user_id=user.id, reason="password_reset", now=ctx.now)
    ctx.commit_with_audit(
        AuditAction.ADMIN_USER_PASSWORD_RESET, object_type="user", object_id=user.id
    )


def list_schools(ctx: ServiceContext) -> list[School]:
    """Every school, by name."""
    return list(ctx.db.execute(select(School).order_by(School.name)).scalars())


def create_school(ctx: ServiceContext, *, name: str, code: str) -> School:
    """Add a school to the district.

    :raises ValidationFailed: on an empty or overlong name or code.
    :raises Conflict: when the name or code is taken.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    name, code = name.strip(), code.strip().upper()
    if not name or len(name) > 200:
        raise ValidationFailed("Enter the school's name (at most 200 characters).", field="name")
    if not re.fullmatch(r"[A-Z0-9-]{2,20}", code):
        raise ValidationFailed("The code is 2 to 20 letters, digits or dashes.", field="code")
    clash = ctx.db.execute(
        select(School.id).where((func.lower(School.name) == name.lower()) | (School.code == code))
    ).first()
    if clash:
        raise Conflict("A school with that name or code exists.", field="name")
    school = School(district_id=the_district(ctx).id, name=name, code=code)
    ctx.db.add(school)
    ctx.db.flush()
    ctx.commit_with_audit(
        AuditAction.ADMIN_SCHOOL_CREATED, object_type="school", object_id=school.id
    )
    return school


def list_teams(ctx: ServiceContext) -> list[Team]:
    """Every team, by name."""
    return list(ctx.db.execute(select(Team).order_by(Team.name)).scalars())


def get_team(ctx: ServiceContext, team_id: int) -> Team:
    """One team.

    :raises NotFound: when there is no such team.
    """
    team = ctx.db.get(Team, team_id)
    if team is None:
        raise NotFound("team")
    return team


def team_candidates(ctx: ServiceContext, team: Team | None = None) -> list[User]:
    """Users who can sit on a team: active team leads and members, and the team's present
    members even when disabled (so editing the team does not drop them unseen)."""
    present = [m.id for m in team.members] if team is not None else []
    return list(
        ctx.db.execute(
            select(User)
            .where(
                User.role.in_(list(ROLES_WITH_DISCIPLINE)),
                User.is_active.is_(True) | User.id.in_(present),
            )
            .order_by(User.display_name)
        ).scalars()
    )


def _apply_team(ctx: ServiceContext, team: Team, data: TeamData) -> None:
    name = data.name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("Enter the team's name (at most 200 characters).", field="name")
    clash = ctx.db.execute(
        select(Team.id).where(func.lower(Team.name) == name.lower(), Team.id != (team.id or 0))
    ).first()
    if clash:
        raise Conflict("A team with that name exists.", field="name")
    if not data.school_ids:
        raise ValidationFailed("A team covers at least one school.", field="school_ids")
    members = list(ctx.db.execute(select(User).where(User.id.in_(set(data.member_ids)))).scalars())
    if len(members) != len(set(data.member_ids)) or any(
        m.role not in ROLES_WITH_DISCIPLINE for m in members
    ):
        raise ValidationFailed("Only team leads and members can sit on a team.", field="member_ids")
    team.name = name
    team.schools = _schools(ctx, data.school_ids)
    team.members = members


def create_team(ctx: ServiceContext, *, data: TeamData) -> Team:
    """Create a team covering schools, with its members.

    :raises ValidationFailed: on a malformed field.
    :raises Conflict: when the name is taken.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    team = Team(district_id=the_district(ctx).id, name="")
    _apply_team(ctx, team, data)
    ctx.db.add(team)
    ctx.db.flush()
    ctx.commit_with_audit(AuditAction.ADMIN_TEAM_CREATED, object_type="team", object_id=team.id)
    return team


def update_team(ctx: ServiceContext, *, team_id: int, data: TeamData) -> None:
    """Change a team's name, schools and members; members who leave lose their sessions.

    :raises NotFound: when there is no such team.
    :raises ValidationFailed: on a malformed field.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    team = get_team(ctx, team_id)
    before = {m.id for m in team.members}
    _apply_team(ctx, team, data)
    for gone in before - {m.id for m in team.members}:
        authn.end_user_sessions(ctx.db, user_id=gone, reason="rights_changed", now=ctx.now)
    ctx.commit_with_audit(AuditAction.ADMIN_TEAM_UPDATED, object_type="team", object_id=team.id)


def set_team_active(ctx: ServiceContext, *, team_id: int, active: bool) -> None:
    """Disable a team (its members lose its cases at their next request) or enable it again.

    :raises NotFound: when there is no such team.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    team = get_team(ctx, team_id)
    team.is_active = active
    if not active:
        for member in team.members:
            authn.end_user_sessions(ctx.db, user_id=member.id, reason="rights_changed", now=ctx.now)
    ctx.commit_with_audit(
        AuditAction.ADMIN_TEAM_ENABLED if active else AuditAction.ADMIN_TEAM_DISABLED,
        object_type="team",
        object_id=team.id,
    )


def user_names(ctx: ServiceContext, ids: Iterable[int]) -> dict[int, str]:
    """Display names of staff accounts by id (for the auditor's trail)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = ctx.db.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {row.id: row.display_name for row in rows}


def school_names(ctx: ServiceContext) -> dict[int, str]:
    """School names by id."""
    return {s.id: s.name for s in list_schools(ctx)}
