"""Plain view objects of reports, the triage queue and the tip line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from btam.cases.dto import AttachmentView
from btam.intake.terms import (
    Channel,
    ImmediateAction,
    NoThreatAction,
    ReportStatus,
    TipCategory,
    TriageOutcome,
)
from btam.people.dto import PartyView
from btam.people.terms import Part, PersonKind


@dataclass(frozen=True)
class OwnReport:
    """What a reporter sees of its own report: when, where, and whether it was triaged."""

    id: int
    received_at: datetime
    school: str
    status: ReportStatus


@dataclass(frozen=True)
class TipMessageView:
    from_tipster: bool
    body: str
    at: datetime


@dataclass(frozen=True)
class TipThread:
    status: ReportStatus
    received_at: datetime
    messages: list[TipMessageView]


@dataclass(frozen=True)
class QueueItem:
    id: int
    school: str
    channel: Channel
    category: TipCategory | None
    received_at: datetime
    due_at: datetime
    overdue: bool
    imminent: bool
    acknowledged: bool
    subjects: list[str]
    age: str  # "40 min", "3 h", "2 d"
    earlier: int  # earlier reports and cases of its people the actor may see


@dataclass(frozen=True)
class QueuePage:
    """One page of the triage queue, oldest first, and where it stands among the pages."""

    items: list[QueueItem]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class HistoryItem:
    person: str
    kind: str  # "case" or "report"
    label: str  # case number, or "report #12"
    when: datetime
    status: str
    case_number: str | None


@dataclass(frozen=True)
class ActionView:
    action: ImmediateAction
    taken_by: str
    taken_at: datetime


@dataclass(frozen=True)
class CandidateView:
    """A person the triager may see whom a mention names (same blind index, decrypted)."""

    person_id: int
    name: str
    kind: PersonKind
    date_of_birth: date | None
    school: str | None


@dataclass(frozen=True)
class MentionView:
    """A person as the report names it, the person the team linked it to, or candidates."""

    id: int
    part: Part
    kind: PersonKind
    name: str
    date_of_birth: date | None
    student_number: str | None
    linked: PartyView | None
    candidates: list[CandidateView] = field(default_factory=list)


@dataclass(frozen=True)
class ReportView:
    id: int
    school: str
    school_id: int
    channel: Channel
    category: TipCategory | None
    received_at: datetime
    due_at: datetime
    overdue: bool
    reporter: str | None  # None: anonymous, or confidential and the actor is not the lead
    reporter_confidential: bool
    occurred: str | None
    location: str | None
    narrative: str
    who: str | None
    imminent: bool
    acknowledged: bool
    people: list[PartyView]
    attachments: list[AttachmentView]
    actions: list[ActionView]
    history: list[HistoryItem]
    status: ReportStatus
    outcome: TriageOutcome | None
    no_threat_action: NoThreatAction | None
    outcome_reason: str | None
    case_number: str | None
    screening: dict[str, bool | None]
    messages: list[TipMessageView]
    is_tip: bool
    mentions: list[MentionView] = field(default_factory=list)


@dataclass(frozen=True)
class SchoolChoice:
    id: int
    name: str


@dataclass(frozen=True)
class UncoveredSchool:
    """An active school no active team covers, and how many reports wait for triage there."""

    name: str
    code: str
    waiting: int
