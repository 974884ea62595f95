"""Plain view objects handed to templates: decrypted values only, no ORM rows, no lazy loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from btam.cases.terms import (
    CaseStatus,
    Channel,
    DisclosureBasis,
    ImmediateAction,
    Level,
    NoThreatAction,
    Part,
    PersonKind,
    RecordClass,
    ReportStatus,
    TipCategory,
    TriageOutcome,
)


@dataclass(frozen=True)
class CaseHeader:
    """The minimum a counselor with assigned work sees: no names, no narrative."""

    id: int
    number: str
    school: str
    team: str
    status: CaseStatus
    level: Level | None
    lead: str | None
    opened_at: datetime


@dataclass(frozen=True)
class PartyView:
    person_id: int
    name: str
    kind: PersonKind
    part: Part


@dataclass(frozen=True)
class NoteView:
    id: int
    author: str
    record_class: RecordClass
    created_at: datetime
    body: str | None  # None when the actor may read only the summary for the team
    team_summary: str | None


@dataclass(frozen=True)
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size: int
    record_class: RecordClass
    author: str
    created_at: datetime


@dataclass(frozen=True)
class AssignmentView:
    id: int
    assignee: str
    assignee_id: int
    task: str
    due_on: date | None
    done: bool


@dataclass(frozen=True)
class MemberView:
    user_id: int
    name: str
    role_label: str
    discipline_label: str | None
    agency: str | None
    via: str  # "team" or "case"


@dataclass(frozen=True)
class GrantView:
    id: int
    user: str
    threat: str | None  # shown to the case's lead only
    granted_at: datetime
    expires_at: datetime
    active: bool


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
class CaseView:
    header: CaseHeader
    summary: str | None = None
    parties: list[PartyView] = field(default_factory=list)
    notes: list[NoteView] = field(default_factory=list)
    attachments: list[AttachmentView] = field(default_factory=list)
    members: list[MemberView] = field(default_factory=list)
    assignments: list[AssignmentView] = field(default_factory=list)
    grants: list[GrantView] = field(default_factory=list)
    full: bool = False  # False: header and the actor's own assignments only
    can_edit: bool = False
    can_manage: bool = False
    can_assign: bool = False
    by_emergency_grant: bool = False
    grant_expires_at: datetime | None = None
    # The reports triaged into this case: (report id, channel, received).
    reports: list[tuple[int, Channel, datetime]] = field(default_factory=list)


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


@dataclass(frozen=True)
class PersonMatch:
    id: int
    name: str
    kind: PersonKind
    date_of_birth: date | None
    cases: list[tuple[str, Part, CaseStatus]]


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


@dataclass(frozen=True)
class SchoolChoice:
    id: int
    name: str
