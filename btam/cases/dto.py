"""Plain view objects of the case pages: decrypted values only, no ORM rows, no lazy loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from btam.access.record_classes import RecordClass
from btam.cases.lifecycle import Transition
from btam.cases.terms import CaseStatus
from btam.intake.terms import (
    Channel,
)
from btam.people.dto import PartyView


@dataclass(frozen=True)
class CaseHeader:
    """The minimum a counselor with assigned work sees: no names, no narrative."""

    id: int
    number: str
    school: str
    team: str
    status: CaseStatus
    level: str | None
    level_label: str | None
    lead: str | None
    opened_at: datetime


@dataclass(frozen=True)
class CaseListPage:
    """One page of the case list, newest first, and where it stands among the pages."""

    items: list[CaseHeader]
    page: int
    pages: int
    total: int


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
class StatusChangeView:
    """One entry of the case's history of status and level."""

    transition: Transition
    from_status: CaseStatus
    to_status: CaseStatus
    from_level: str | None
    to_level: str | None
    reason: str | None
    at: datetime
    by: str | None


@dataclass(frozen=True)
class CaseView:
    header: CaseHeader
    summary: str | None = None
    parties: list[PartyView] = field(default_factory=list)
    notes: list[NoteView] = field(default_factory=list)
    attachments: list[AttachmentView] = field(default_factory=list)
    members: list[MemberView] = field(default_factory=list)
    grants: list[GrantView] = field(default_factory=list)
    full: bool = False  # False: the header only (the plan shows the actor's own items)
    can_edit: bool = False
    can_manage: bool = False
    can_assign: bool = False
    by_emergency_grant: bool = False
    grant_expires_at: datetime | None = None
    # The reports triaged into this case: (report id, channel, received).
    reports: list[tuple[int, Channel, datetime]] = field(default_factory=list)
    history: list[StatusChangeView] = field(default_factory=list)
    # What the lead may do next with the case's status (close, reopen, ...).
    transitions: list[Transition] = field(default_factory=list)


@dataclass(frozen=True)
class TimelineItem:
    """One event of a case's timeline: when, what kind, what (no content), by whom."""

    at: datetime
    kind: str
    text: str
    who: str | None = None
    # The meeting that recorded or decided it, if any (linked from the timeline).
    meeting_id: int | None = None
