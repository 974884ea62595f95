"""The district's calendar: today in its zone, and "school days" that skip weekends and the
days its administrator marks as non-school days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from btam.access.permissions import Permission
from btam.access.refusal import require_permission
from btam.accounts import repository as accounts_repo
from btam.accounts.services import organisation, reauth
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.plans import repository
from btam.plans.models import NonSchoolDay

# How far ahead "school days" look before giving up (a calendar closed for a year is wrong).
_HORIZON = 366


def today(ctx: ServiceContext) -> date:
    """The district's calendar day now."""
    return organisation.local_day(ctx)


def add_school_days(start: date, count: int, closed: Iterable[date]) -> date:
    """The day ``count`` school days after ``start``: weekends and ``closed`` days skipped.

    :raises ValueError: no school day within a year.
    """
    shut = frozenset(closed)
    day, left = start, count
    for _ in range(_HORIZON * max(count, 1)):
        if left <= 0:
            return day
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in shut:
            left -= 1
    raise ValueError("no school day within a year")


def school_days_after(ctx: ServiceContext, moment: datetime, count: int = 1) -> datetime:
    """The same local time ``count`` school days after ``moment`` (stored UTC).

    The district's non-school days are skipped; before a district exists, weekends only.
    """
    zone = organisation.district_zone(ctx)
    local = moment.astimezone(zone)
    district = accounts_repo.first_district(ctx.db)
    closed = repository.non_school_days(ctx.db, district.id, since=local.date()) if district else ()
    day = add_school_days(local.date(), count, closed)
    return datetime.combine(day, local.timetz()).astimezone(moment.tzinfo)


def non_school_days(ctx: ServiceContext) -> list[date]:
    """The district's non-school days from today on, for its administrator.

    :raises AccessDenied: the actor may not manage the district.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    district = organisation.the_district(ctx)
    return list(repository.non_school_days(ctx.db, district.id, since=today(ctx)))


def set_non_school_day(ctx: ServiceContext, *, day: date, closed: bool) -> Staged[None]:
    """Mark ``day`` as a non-school day (``closed``) or a school day again.

    :raises AccessDenied: the actor may not manage the district.
    :raises ReauthenticationRequired: the password was not confirmed in the last 15 minutes.
    :raises ValidationFailed: already so, or a day far out of range.
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    reauth.require_recent_password(ctx)
    district = organisation.the_district(ctx)
    if abs((day - today(ctx)).days) > 3 * 366:
        raise ValidationFailed("Choose a day within three years of today.", field="day")
    row = repository.non_school_day(ctx.db, district.id, day)
    if closed:
        if row is not None:
            raise ValidationFailed("That day is already a non-school day.", field="day")
        ctx.db.add(NonSchoolDay(district_id=district.id, day=day))
    else:
        if row is None:
            raise ValidationFailed("That day is not a non-school day.", field="day")
        ctx.db.delete(row)
    return staged(
        None,
        AuditEvent(
            AuditAction.ADMIN_DISTRICT_UPDATED,
            object_type="district",
            object_id=district.id,
            purpose=f"non-school day {day.isoformat()} {'added' if closed else 'removed'}",
        ),
    )
