"""What the meeting pages receive: plain values, decrypted where the viewer may read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from btam.meetings.terms import DecisionKind, ItemKind, MeetingKind


@dataclass(frozen=True)
class MeetingRow:
    id: int
    team: str
    kind: MeetingKind
    starts_at: datetime
    place: str
    guest: bool  # the viewer is a guest of this meeting


@dataclass(frozen=True)
class MeetingList:
    upcoming: list[MeetingRow]
    past: list[MeetingRow]
    # Teams the viewer may schedule a meeting for: (id, name).
    teams: list[tuple[int, str]]


@dataclass(frozen=True)
class MinuteView:
    id: int
    author: str
    created_at: datetime
    body: str


@dataclass(frozen=True)
class DecisionView:
    kind: DecisionKind
    decided_by: str
    decided_at: datetime
    summary: str  # ids and labels only: "determination v2", "closed"


@dataclass(frozen=True)
class ItemView:
    id: int
    position: int
    kind: ItemKind
    case_number: str | None
    report_id: int | None
    due_at: datetime | None
    shared: bool
    # Only for a viewer the policy lets read the record (or a guest, on a shared item).
    detail: str | None
    topic: str | None
    readable: bool
    minutes: list[MinuteView] = field(default_factory=list)
    decisions: list[DecisionView] = field(default_factory=list)


@dataclass(frozen=True)
class AttendeeView:
    id: int
    user_id: int | None
    name: str
    discipline: str | None
    guest: bool
    affiliation: str | None
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class QuorumView:
    model: str
    required: list[str]
    present: list[str]
    missing: list[str]
    # A model that also asks for someone who knows the student: checked per case.
    knows_subject: str | None

    @property
    def met(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class MeetingHeader:
    id: int
    team: str
    kind: MeetingKind
    starts_at: datetime
    place: str
    agenda_built_at: datetime | None


@dataclass(frozen=True)
class MeetingPage:
    header: MeetingHeader
    items: list[ItemView]
    attendees: list[AttendeeView]
    quorum: QuorumView | None  # None for a guest
    guest_view: bool
    may_lead: bool
    may_minute: bool
    # Team members not yet attending: (user id, "name (discipline)").
    member_choices: list[tuple[int, str]]
    # Users outside the team who may be a guest with an account: (user id, name).
    guest_choices: list[tuple[int, str]]
    # The viewer's own attendance still waiting for its acknowledgement.
    own_attendee_id: int | None


@dataclass(frozen=True)
class ChoiceView:
    value: str
    label: str


@dataclass(frozen=True)
class PlanChoices:
    """What the plan item and referral forms offer on an item's case."""

    owners: list[tuple[int, str]] = field(default_factory=list)  # who may own a plan item
    targets: list[tuple[int, str]] = field(default_factory=list)  # party id, name
    people: list[tuple[str, str]] = field(default_factory=list)  # person id, name


@dataclass(frozen=True)
class ItemPage:
    header: MeetingHeader
    item: ItemView
    may_lead: bool
    may_minute: bool
    # For a decision on the item's case (empty when none can be taken here).
    facts: list[tuple[int, str]]  # fact series id, label
    classifications: list[ChoiceView]
    levels: list[ChoiceView]
    participants: list[str]  # qualifying attendees: "name (discipline)"
    quorum_missing: list[str]
    may_close: bool
    case_status: str | None
    # The plans' decisions on the item's case: a plan item, a referral, a review.
    may_plan: bool = False
    may_refer: bool = False
    may_review: bool = False
    choices: PlanChoices = field(default_factory=PlanChoices)


@dataclass(frozen=True)
class PrintedRow:
    position: int
    kind: ItemKind
    case_number: str | None
    report_id: int | None
    due_at: datetime | None


@dataclass(frozen=True)
class PrintedAgenda:
    header: MeetingHeader
    rows: list[PrintedRow]


@dataclass(frozen=True)
class CaseMinutesEntry:
    meeting_id: int
    starts_at: datetime
    team: str
    minutes: list[MinuteView]
    decisions: list[DecisionView]


@dataclass(frozen=True)
class CaseMinutes:
    number: str
    school: str
    entries: list[CaseMinutesEntry]
