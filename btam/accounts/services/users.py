"""The district administrator's work on users: accounts, roles, scope, resets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from btam.access.actor import ROLES_WITH_DISCIPLINE, Discipline, Role
from btam.access.permissions import Permission
from btam.access.refusal import require_permission
from btam.accounts import authn, repository
from btam.accounts.dto import UserRow
from btam.accounts.models import School, User
from btam.accounts.services import reauth
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.context import ServiceContext, Staged, staged
from btam.errors import Conflict, NotFound, ValidationFailed
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
class NewCredentials:
    """A temporary password, shown once to the administrator and changed at first sign-in."""

    user_id: int
    username: str
    temporary_password: str


def schools_of(ctx: ServiceContext, ids: Iterable[int]) -> list[School]:
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
    """Every user, by name (for the administrator).

    :raises AccessDenied: the actor may not manage users.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
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

    :raises ReauthenticationRequired: the actor's session has not proved the password lately.
    :raises ValidationFailed: on a malformed field or a refused password.
    :raises Conflict: when the user name is taken.
    :raises AuditUnavailable: when the change cannot be recorded (nothing is stored).
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    reauth.require_recent_password(ctx)
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
    user.schools = schools_of(ctx, data.school_ids)
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

    :raises ReauthenticationRequired: the actor's session has not proved the password lately.
    :raises NotFound: when there is no such user.
    :raises ValidationFailed: on a malformed field.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    reauth.require_recent_password(ctx)
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
    user.schools = schools_of(ctx, data.school_ids)
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

    :raises ReauthenticationRequired: the actor's session has not proved the password lately.
    :raises NotFound: when there is no such user.
    :raises ValidationFailed: when administrators would lock themselves out.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    reauth.require_recent_password(ctx)
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

    :raises ReauthenticationRequired: the actor's session has not proved the password lately.
    :raises NotFound: when there is no such user.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    reauth.require_recent_password(ctx)
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

    :raises ReauthenticationRequired: the actor's session has not proved the password lately.
    :raises NotFound: when there is no such user.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    reauth.require_recent_password(ctx)
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

    :raises ReauthenticationRequired: the actor's session has not proved the password lately.
    :raises NotFound: when there is no such user.
    :raises ValidationFailed: when the password breaks the rules.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    reauth.require_recent_password(ctx)
    user = _get_user(ctx, user_id)
    problems = ctx.password_rules.problems(password, context=(user.username, user.display_name))
    if problems:
        raise ValidationFailed(" ".join(problems), field="password")
    user.password_hash = ctx.hashing.hash(password)
    user.must_change_password = False
    user.password_changed_at = ctx.now
    authn.end_user_sessions(ctx.db, user_id=user.id, reason="password_reset", now=ctx.now)
    return staged(None, _event(AuditAction.ADMIN_USER_PASSWORD_RESET, "user", user.id))


def user_id_of(ctx: ServiceContext, username: str) -> int | None:
    """The id of the account with this user name, if any (the auditor's filter).

    :raises AccessDenied: the actor may neither manage users nor read the trail.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE, Permission.AUDIT_TRAIL_READ)
    found = repository.user_by_username(ctx.db, username.strip().lower())
    return found.id if found is not None else None


def user_names(ctx: ServiceContext, ids: Iterable[int]) -> dict[int, str]:
    """Display names of staff accounts by id (for the auditor's trail)."""
    return repository.display_names(ctx.db, ids)


def _event(action: AuditAction, object_type: str, object_id: int) -> AuditEvent:
    return AuditEvent(action, object_type=object_type, object_id=object_id)
