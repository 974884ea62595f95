"""Plain view objects of the plan for the templates: no lazy loads, nothing encrypted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from btam.plans.terms import ItemStatus


@dataclass(frozen=True)
class ProgressView:
    author: str
    body: str
    at: datetime


@dataclass(frozen=True)
class ItemView:
    id: int
    intervention: str
    description: str
    aim: str
    target: str | None  # the person protected, shown to the team only
    owner: str
    owner_id: int
    due_on: date | None
    status: ItemStatus
    status_reason: str | None
    overdue: bool
    progress: list[ProgressView] = field(default_factory=list)
    may_update: bool = False  # the owner or the team may move it on
    may_log: bool = False  # its owner logs sessions and contacts
    created_at: datetime | None = None


@dataclass(frozen=True)
class LogView:
    id: int
    item_id: int
    author: str
    held_on: date
    minutes: int
    kind: str
    summary: str
    private_notes: str | None  # None: not readable to the viewer (a counseling record)


@dataclass(frozen=True)
class ReviewView:
    by: str
    at: datetime
    changes: str
    next_on: date | None
    final: bool


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class PlanView:
    """The plan section of the case page: the team's whole plan, or an owner's own items."""

    full: bool
    items: list[ItemView]
    log: list[LogView]
    reviews: list[ReviewView] = field(default_factory=list)
    next_review_on: date | None = None
    review_overdue: bool = False
    open_things: list[str] = field(default_factory=list)
    can_plan: bool = False
    can_close: bool = False
    support_plan: str | None = None  # the subject's IEP / 504 status, for the team
    owners: list[Choice] = field(default_factory=list)
    targets: list[Choice] = field(default_factory=list)


@dataclass(frozen=True)
class WorkRow:
    """One line of the home page's work: what, which case, when due, and where to act."""

    case_number: str
    text: str
    due: date | datetime | None
    overdue: bool
    anchor: str


@dataclass(frozen=True)
class WorkSection:
    """A section of the home page's work (plan items, reviews, determinations to confirm...)."""

    key: str
    title: str
    rows: list[WorkRow]
    hint: str = ""
