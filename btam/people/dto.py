"""Plain view objects of people and their record of disclosures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from btam.cases.terms import CaseStatus
from btam.people.terms import DisclosureBasis, Part, PersonKind


@dataclass(frozen=True)
class PartyView:
    person_id: int
    name: str
    kind: PersonKind
    part: Part


@dataclass(frozen=True)
class DisclosureView:
    id: int
    person_id: int
    case_number: str | None
    disclosed_at: datetime
    basis: DisclosureBasis
    recipient: str
    interest: str | None
    threat: str | None
    parties: str | None
    is_emergency: bool
    recorded_by: str | None


@dataclass(frozen=True)
class PersonView:
    id: int
    kind: PersonKind
    name: str | None  # None for an auditor: the record of disclosures only
    date_of_birth: date | None
    student_number: str | None
    school: str | None
    cases: list[tuple[str, Part, CaseStatus]] = field(default_factory=list)
    disclosures: list[DisclosureView] = field(default_factory=list)
    can_record_disclosure: bool = False
    # The same person's other records the actor may merge into this one.
    duplicates: list[PersonMatch] = field(default_factory=list)
    # The id typed, when it named a record since merged into this one.
    merged_from: int | None = None


@dataclass(frozen=True)
class PersonMatch:
    id: int
    name: str
    kind: PersonKind
    date_of_birth: date | None
    cases: list[tuple[str, Part, CaseStatus]]
    school: str | None = None
