"""Queries of users, schools, teams and the district, for the other stages' services."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from btam.access.actor import Role
from btam.accounts.models import (
    District,
    RecoveryCode,
    School,
    Team,
    User,
    team_members,
    team_schools,
    user_schools,
)
from btam.ids import is_record_id


def district_of(db: Session, school_id: int) -> int:
    return db.execute(select(School.district_id).where(School.id == school_id)).scalar_one()


def team(db: Session, team_id: int) -> Team | None:
    return db.get(Team, team_id) if is_record_id(team_id) else None


def school(db: Session, school_id: int | None) -> School | None:
    return db.get(School, school_id) if is_record_id(school_id) else None


def user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id) if is_record_id(user_id) else None


def user_for_change(db: Session, user_id: int) -> User | None:
    """The user read afresh and held (PostgreSQL row lock) until the transaction ends, so
    that a change decided on what was read cannot be overtaken by another request's."""
    if not is_record_id(user_id):
        return None
    return db.get(User, user_id, with_for_update=True, populate_existing=True)


def display_names(db: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """The display names of ``user_ids`` in one query (unknown ids are left out)."""
    wanted = sorted({i for i in user_ids if is_record_id(i)})
    if not wanted:
        return {}
    rows = db.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {row.id: row.display_name for row in rows}


def users_with_roles(db: Session, roles: Iterable[Role]) -> Sequence[User]:
    return (
        db.execute(
            select(User)
            .where(User.role.in_(list(roles)), User.is_active.is_(True))
            .order_by(User.display_name)
        )
        .scalars()
        .all()
    )


def users_near(
    db: Session, roles: Iterable[Role], *, school_id: int, team_id: int
) -> Sequence[User]:
    """Active users of these roles on the team, or whose scope holds the school (theirs, or
    the whole district's)."""
    return (
        db.execute(
            select(User)
            .where(
                User.role.in_(list(roles)),
                User.is_active.is_(True),
                or_(
                    User.district_wide.is_(True),
                    User.id.in_(
                        select(user_schools.c.user_id).where(user_schools.c.school_id == school_id)
                    ),
                    User.id.in_(
                        select(team_members.c.user_id).where(team_members.c.team_id == team_id)
                    ),
                ),
            )
            .order_by(User.display_name, User.id)
            # Callers decide on each as an actor: its schools and teams, loaded at once.
            .options(selectinload(User.schools), selectinload(User.teams))
        )
        .scalars()
        .all()
    )


def active_schools(db: Session) -> Sequence[School]:
    query = select(School).where(School.is_active.is_(True)).order_by(School.name)
    return db.execute(query).scalars().all()


def first_district(db: Session) -> District | None:
    """The deployment's district (one per deployment), or None before one is made."""
    return db.execute(select(District).order_by(District.id)).scalars().first()


def district_time_zone(db: Session) -> str | None:
    """The district's zone name, or None before a district is made."""
    return db.execute(select(District.time_zone).order_by(District.id).limit(1)).scalar()


def schools_by_ids(db: Session, ids: Iterable[int]) -> Sequence[School]:
    wanted = sorted({i for i in ids if is_record_id(i)})
    return db.execute(select(School).where(School.id.in_(wanted))).scalars().all()


def teams_by_ids(db: Session, ids: Iterable[int]) -> Sequence[Team]:
    wanted = sorted({i for i in ids if is_record_id(i)})
    return db.execute(select(Team).where(Team.id.in_(wanted))).scalars().all()


def all_users(db: Session) -> Sequence[User]:
    # The schools of every user in one more query, not one a user.
    query = select(User).options(selectinload(User.schools)).order_by(User.display_name, User.id)
    return db.execute(query).scalars().all()


def users_by_ids(db: Session, ids: Iterable[int]) -> Sequence[User]:
    wanted = sorted({i for i in ids if is_record_id(i)})
    return db.execute(select(User).where(User.id.in_(wanted))).scalars().all()


def username_taken(db: Session, username: str) -> bool:
    return db.execute(select(User.id).where(User.username == username)).first() is not None


def user_by_username(db: Session, username: str) -> User | None:
    return db.execute(select(User).where(User.username == username)).scalar_one_or_none()


def recovery_codes_of(db: Session, user_id: int) -> Sequence[RecoveryCode]:
    return db.execute(select(RecoveryCode).where(RecoveryCode.user_id == user_id)).scalars().all()


def all_schools(db: Session) -> Sequence[School]:
    return db.execute(select(School).order_by(School.name)).scalars().all()


def school_name_or_code_taken(db: Session, name: str, code: str) -> bool:
    clash = select(School.id).where(
        (func.lower(School.name) == name.lower()) | (School.code == code)
    )
    return db.execute(clash).first() is not None


def covered_school_ids(db: Session) -> set[int]:
    """The schools an active team covers, in one query."""
    query = (
        select(team_schools.c.school_id)
        .join(Team, Team.id == team_schools.c.team_id)
        .where(Team.is_active.is_(True))
    )
    return set(db.execute(query).scalars())


def all_teams(db: Session) -> Sequence[Team]:
    query = select(Team).order_by(Team.name)
    return (
        db.execute(query.options(selectinload(Team.schools), selectinload(Team.members)))
        .scalars()
        .all()
    )


def team_name_taken(db: Session, name: str, *, other_than: int | None) -> bool:
    clash = select(Team.id).where(
        func.lower(Team.name) == name.lower(), Team.id != (other_than or 0)
    )
    return db.execute(clash).first() is not None


def team_candidates(db: Session, roles: Iterable[Role], present: Iterable[int]) -> Sequence[User]:
    """Active users of ``roles``, and the users ``present`` even when disabled."""
    query = (
        select(User)
        .where(User.role.in_(list(roles)), User.is_active.is_(True) | User.id.in_(list(present)))
        .order_by(User.display_name)
    )
    return db.execute(query).scalars().all()


def unused_recovery_code_count(db: Session, user_id: int) -> int:
    query = select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
    )
    return int(db.execute(query).scalar_one())


def district_named(db: Session, name: str) -> District | None:
    return db.execute(select(District).where(District.name == name)).scalar_one_or_none()


def district(db: Session, district_id: int) -> District | None:
    return db.get(District, district_id) if is_record_id(district_id) else None
