"""The district, its schools and its teams, as the district administrator sets them up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, available_timezones

from btam.access.actor import ROLES_WITH_DISCIPLINE
from btam.access.permissions import Permission
from btam.access.refusal import require_permission
from btam.accounts import authn, repository
from btam.accounts.dto import DistrictSettings, SchoolRow, TeamRow, UserRow
from btam.accounts.models import District, School, Team
from btam.accounts.services import reauth
from btam.accounts.services.users import schools_of, user_row
from btam.assessment.catalog import DEFAULT_MODEL_ID
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.context import ServiceContext, Staged, staged
from btam.errors import AccessDenied, Conflict, NotFound, ValidationFailed


@dataclass(frozen=True)
class TeamData:
    name: str
    school_ids: tuple[int, ...]
    member_ids: tuple[int, ...]


# Read once: the system's zone database does not change under a running app.
_ZONE_NAMES = frozenset(available_timezones())


def the_district(ctx: ServiceContext) -> District:
    """The deployment's district.

    :raises NotFound: before ``btam demo`` or ``btam create-district`` has made one.
    """
    district = repository.first_district(ctx.db)
    if district is None:
        raise NotFound("no district")
    return district


def create_district(ctx: ServiceContext, *, name: str, time_zone: str = "UTC") -> Staged[District]:
    """Create the deployment's district (the command line does this once).

    :raises AccessDenied: anyone but the system actor.
    :raises Conflict: the deployment has a district already.
    :raises ValidationFailed: an empty or overlong name, or no such time zone.
    """
    if ctx.actor is not None:
        raise AccessDenied("only the command line creates a district")
    text = name.strip()
    if not text or len(text) > 200:
        raise ValidationFailed("Name the district (at most 200 characters).", field="name")
    if zone_named(time_zone) is None:
        raise ValidationFailed("Choose a time zone by its name.", field="time_zone")
    if repository.first_district(ctx.db) is not None:
        raise Conflict("This deployment has its district already.")
    district = District(name=text, time_zone=time_zone)
    ctx.db.add(district)
    ctx.db.flush()
    return staged(district, _event(AuditAction.ADMIN_DISTRICT_CREATED, "district", district.id))


def list_schools(ctx: ServiceContext) -> list[SchoolRow]:
    """Every school, by name, and whether an active team covers it.

    :raises AccessDenied: the actor may neither manage schools nor read the trail.
    """
    require_permission(ctx, Permission.ADMIN_SCHOOLS_MANAGE, Permission.AUDIT_TRAIL_READ)
    covered = repository.covered_school_ids(ctx.db)
    return [
        SchoolRow(s.id, s.name, s.code, s.is_active, uncovered=s.is_active and s.id not in covered)
        for s in repository.all_schools(ctx.db)
    ]


def create_school(ctx: ServiceContext, *, name: str, code: str) -> Staged[SchoolRow]:
    """Add a school to the district.

    :raises ReauthenticationRequired: the actor's session has not proved the password lately.
    :raises ValidationFailed: on an empty or overlong name or code.
    :raises Conflict: when the name or code is taken.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_SCHOOLS_MANAGE)
    reauth.require_recent_password(ctx)
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
    team.schools = schools_of(ctx, data.school_ids)
    team.members = members


def create_team(ctx: ServiceContext, *, data: TeamData) -> Staged[TeamRow]:
    """Create a team covering schools, with its members.

    :raises ReauthenticationRequired: the actor's session has not proved the password lately.
    :raises ValidationFailed: on a malformed field.
    :raises Conflict: when the name is taken.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_TEAMS_MANAGE)
    reauth.require_recent_password(ctx)
    team = Team(district_id=the_district(ctx).id, name="")
    _apply_team(ctx, team, data)
    ctx.db.add(team)
    ctx.db.flush()
    return staged(team_row(team), _event(AuditAction.ADMIN_TEAM_CREATED, "team", team.id))


def update_team(ctx: ServiceContext, *, team_id: int, data: TeamData) -> Staged[None]:
    """Change a team's name, schools and members; members who leave lose their sessions.

    :raises ReauthenticationRequired: the actor's session has not proved the password lately.
    :raises NotFound: when there is no such team.
    :raises ValidationFailed: on a malformed field.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_TEAMS_MANAGE)
    reauth.require_recent_password(ctx)
    team = _get_team(ctx, team_id)
    before = {m.id for m in team.members}
    _apply_team(ctx, team, data)
    for gone in before - {m.id for m in team.members}:
        authn.end_user_sessions(ctx.db, user_id=gone, reason="rights_changed", now=ctx.now)
    return staged(None, _event(AuditAction.ADMIN_TEAM_UPDATED, "team", team.id))


def set_team_active(ctx: ServiceContext, *, team_id: int, active: bool) -> Staged[None]:
    """Disable a team (its members lose its cases at their next request) or enable it again.

    :raises ReauthenticationRequired: the actor's session has not proved the password lately.
    :raises NotFound: when there is no such team.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    require_permission(ctx, Permission.ADMIN_TEAMS_MANAGE)
    reauth.require_recent_password(ctx)
    team = _get_team(ctx, team_id)
    team.is_active = active
    if not active:
        for member in team.members:
            authn.end_user_sessions(ctx.db, user_id=member.id, reason="rights_changed", now=ctx.now)
    action = AuditAction.ADMIN_TEAM_ENABLED if active else AuditAction.ADMIN_TEAM_DISABLED
    return staged(None, _event(action, "team", team.id))


def school_names(ctx: ServiceContext) -> dict[int, str]:
    """School names by id."""
    return {s.id: s.name for s in repository.all_schools(ctx.db)}


def _event(action: AuditAction, object_type: str, object_id: int) -> AuditEvent:
    return AuditEvent(action, object_type=object_type, object_id=object_id)


def district_settings(ctx: ServiceContext) -> DistrictSettings:
    """The district's settings and the choices for them.

    :raises AccessDenied: the actor may not manage users (the district administrator).
    :raises NotFound: before a district exists.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    district = the_district(ctx)
    return DistrictSettings(
        name=district.name,
        assessment_model=district.assessment_model or DEFAULT_MODEL_ID,
        model_choices=tuple((m.id, f"{m.name} ({m.ref})") for m in ctx.catalog.choices()),
        time_zone=district.time_zone,
        review_days=(
            district.review_days_imminent,
            district.review_days_high,
            district.review_days_moderate,
            district.review_days_low,
        ),
    )


REVIEW_DAYS_MAX = 90


def update_district(
    ctx: ServiceContext,
    *,
    assessment_model: str,
    time_zone: str | None = None,
    review_days: tuple[int, int, int, int] | None = None,
) -> Staged[None]:
    """Choose the assessment model new cases follow (open cases keep theirs), the zone
    every time is shown and typed in, and the days between reviews by level (imminent,
    high, moderate, low); ``None`` keeps a setting.

    :raises AccessDenied: the actor may not manage users.
    :raises ValidationFailed: no such model in the catalog, no such time zone, or a review
        cadence out of range or slower for a higher level.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    reauth.require_recent_password(ctx)
    if assessment_model not in {m.id for m in ctx.catalog.choices()}:
        raise ValidationFailed("Choose one of the models.", field="assessment_model")
    if time_zone is not None and zone_named(time_zone) is None:
        raise ValidationFailed("Choose a time zone by its name.", field="time_zone")
    if review_days is not None:
        if not all(1 <= d <= REVIEW_DAYS_MAX for d in review_days):
            raise ValidationFailed(
                f"Between 1 and {REVIEW_DAYS_MAX} days.", field="review_days_moderate"
            )
        if list(review_days) != sorted(review_days):
            raise ValidationFailed(
                "A higher level is reviewed at least as often as a lower one.",
                field="review_days_high",
            )
    district = the_district(ctx)
    district.assessment_model = assessment_model
    if review_days is not None:
        (
            district.review_days_imminent,
            district.review_days_high,
            district.review_days_moderate,
            district.review_days_low,
        ) = review_days
    if time_zone is not None:
        district.time_zone = time_zone
    return staged(
        None,
        AuditEvent(
            AuditAction.ADMIN_DISTRICT_UPDATED,
            object_type="district",
            object_id=district.id,
            purpose=f"assessment model {assessment_model}, time zone {district.time_zone}, "
            f"reviews every {review_days or 'unchanged'} days",
        ),
    )


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone ``name`` names, or None (only names the system's zone database lists)."""
    if name not in _ZONE_NAMES:
        return None
    return ZoneInfo(name)


def district_zone(ctx: ServiceContext) -> ZoneInfo:
    """The zone the district reads and types times in (UTC before a district is made).

    Anyone may ask, a tipster's page included: a time zone is no one's record.
    """
    name = repository.district_time_zone(ctx.db)
    return (zone_named(name) if name else None) or ZoneInfo("UTC")


def local_day(ctx: ServiceContext, moment: datetime | None = None) -> date:
    """The district's calendar day at ``moment`` (now by default)."""
    return (moment or ctx.now).astimezone(district_zone(ctx)).date()


def day_begins(ctx: ServiceContext, day: date) -> datetime:
    """The moment (UTC) the district's calendar ``day`` begins."""
    return datetime.combine(day, time(), district_zone(ctx)).astimezone(UTC)
