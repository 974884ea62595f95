"""Plain view objects of referrals and notifications: decrypted values only, no ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from btam.access.record_classes import RecordClass
from btam.assessment.terms import Method
from btam.people.terms import DisclosureBasis
from btam.plans.referral_terms import (
    Audience,
    Consent,
    Destination,
    History,
    ReferralMove,
    ReferralStatus,
)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class StepView:
    move: ReferralMove
    to_status: ReferralStatus
    note: str | None
    follow_up_on: date | None
    taken_by: str
    taken_at: datetime


@dataclass(frozen=True)
class ReferralView:
    id: int
    person: str
    destination: Destination
    agency: str
    contact: str | None
    reason: str
    record_class: RecordClass
    consent: Consent
    consent_records: str | None
    consent_purpose: str | None
    consent_recipient: str | None
    consent_on: date | None
    legal_basis: DisclosureBasis | None
    basis_statement: str | None
    status: ReferralStatus
    follow_up_on: date | None
    overdue: bool
    sent_at: datetime | None
    disclosed: bool
    outcome: str | None
    author: str
    created_at: datetime
    moves: list[ReferralMove] = field(default_factory=list)
    steps: list[StepView] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.status.open


@dataclass(frozen=True)
class Duty:
    """Someone who must be told, and whether it is recorded."""

    audience: Audience
    person_id: int
    text: str
    due_on: date
    overdue: bool
    done: bool


@dataclass(frozen=True)
class NotificationView:
    id: int
    audience: Audience
    about: str | None
    recipient: str
    notified_at: datetime
    method: Method
    summary: str | None
    record_class: RecordClass
    recorded_by: str


@dataclass(frozen=True)
class HistoryView:
    person: str
    kind: History | None
    documented_in: str | None
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class ReferralSection:
    """The case page's referrals and notifications, for a viewer who may view the case."""

    referrals: list[ReferralView]
    duties: list[Duty]
    notifications: list[NotificationView]
    histories: list[HistoryView]
    people: list[Choice]
    targets: list[Choice]
    subjects: list[Choice]
    can_refer: bool
    can_notify: bool

    @property
    def outstanding(self) -> list[Duty]:
        return [d for d in self.duties if not d.done]


@dataclass(frozen=True)
class ReferralLetter:
    """What the printable letter holds."""

    case_number: str
    school: str
    district: str
    person: str
    destination: Destination
    agency: str
    contact: str | None
    reason: str
    consent: Consent
    consent_records: str | None
    consent_purpose: str | None
    consent_on: date | None
    legal_basis: DisclosureBasis | None
    status: ReferralStatus
    sent_at: datetime | None
    author: str
    printed_at: datetime


@dataclass(frozen=True)
class WorkItem:
    """One thing owed on a case, for a home page: what, when due, and whether overdue."""

    case_number: str
    text: str
    due_on: date | None
    overdue: bool
