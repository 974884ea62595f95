"""Plain view objects of the admin pages: users, teams and schools, no ORM rows."""

from __future__ import annotations

from dataclasses import dataclass

from btam.access.actor import Discipline, Role


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    role: Role
    discipline: Discipline | None
    district_wide: bool
    is_active: bool
    mfa_enrolled: bool
    agency: str | None
    school_ids: tuple[int, ...]
    school_codes: tuple[str, ...]


@dataclass(frozen=True)
class TeamRow:
    id: int
    name: str
    is_active: bool
    school_ids: tuple[int, ...]
    school_codes: tuple[str, ...]
    member_ids: tuple[int, ...]


@dataclass(frozen=True)
class SchoolRow:
    id: int
    name: str
    code: str
    is_active: bool
    # No active team covers it: its reports reach the district-wide queue only.
    uncovered: bool = False


@dataclass(frozen=True)
class DistrictSettings:
    """What the district administrator sets for the whole district."""

    name: str
    assessment_model: str
    # (id, "name (id-vN)") of the latest version of every model shipped.
    model_choices: tuple[tuple[str, str], ...]
    time_zone: str
    # Days between reviews by level: imminent, high, moderate, low.
    review_days: tuple[int, int, int, int] = (1, 7, 14, 30)
