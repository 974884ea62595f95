"""Plain view objects of a case's assessment: decrypted values only, no ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from btam.access.record_classes import RecordClass
from btam.assessment.terms import (
    DeterminationStatus,
    FactSource,
    Method,
    NoticeKind,
    Offence,
    Response,
)


@dataclass(frozen=True)
class FactVersion:
    """An earlier version of a fact, kept readable with who wrote it."""

    id: int
    version: int
    statement: str | None
    author: str
    created_at: datetime


@dataclass(frozen=True)
class FactView:
    id: int
    series_id: int
    version: int
    source: FactSource
    learned_on: date
    gathered_by: str | None
    interviewee: str | None
    corroborated: bool
    corroboration: str | None
    record_class: RecordClass
    offence: Offence | None
    statement: str | None  # None when the actor may read only the summary for the team
    team_summary: str | None
    author: str
    created_at: datetime
    earlier: list[FactVersion] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return self.statement is not None

    @property
    def label(self) -> str:
        """How an answer or a determination names the fact: its number and source."""
        return f"Fact {self.series_id} ({self.source.label.lower()}, {self.learned_on})"


@dataclass(frozen=True)
class AnswerView:
    value: str
    value_label: str
    note: str | None
    facts: list[int]
    author: str
    created_at: datetime


@dataclass(frozen=True)
class QuestionView:
    key: str
    theme: str
    text: str
    guidance: str
    protective: bool
    answer: AnswerView | None

    @property
    def without_fact(self) -> bool:
        return self.answer is not None and not self.answer.facts


@dataclass(frozen=True)
class ParticipantView:
    user_id: int
    name: str
    discipline: str
    knows_subject: bool
    response: Response
    responded_at: datetime | None
    objection: str | None


@dataclass(frozen=True)
class DeterminationView:
    id: int
    version: int
    model: str
    classification: str
    classification_label: str
    substantive: bool
    level: str
    level_label: str
    offence: Offence | None
    rationale: str | None
    status: DeterminationStatus
    recorded_by: str
    recorded_at: datetime
    decided_at: datetime | None
    participants: list[ParticipantView]
    facts: list[int]
    # The signed-in user is a participant who has not answered yet.
    awaits_me: bool = False


@dataclass(frozen=True)
class NoticeView:
    id: int
    kind: NoticeKind
    recipient: str | None
    given_at: datetime
    method: Method
    reached: bool | None
    note: str | None
    offence: Offence | None
    recorded_by: str


@dataclass(frozen=True)
class Outstanding:
    """Something the case still owes: a notice, a report to an authority, an answer."""

    kind: str
    text: str


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Candidate:
    """Someone who may take part in a determination: on the team or the case."""

    user_id: int
    name: str
    discipline: str


@dataclass(frozen=True)
class AssessmentView:
    model_name: str
    model_ref: str
    questions: list[QuestionView]
    facts: list[FactView]
    determinations: list[DeterminationView]
    notices: list[NoticeView]
    outstanding: list[Outstanding]
    classifications: list[Choice]
    levels: list[Choice]
    candidates: list[Candidate]
    interview_guides: dict[str, tuple[str, ...]]
    parties: list[Choice]
    quorum: list[str]
    quorum_needs_acquaintance: bool
    can_assess: bool

    @property
    def unanswered(self) -> int:
        return sum(1 for q in self.questions if q.answer is None)

    @property
    def without_fact(self) -> int:
        return sum(1 for q in self.questions if q.without_fact)

    @property
    def current(self) -> DeterminationView | None:
        """The newest confirmed determination, the one the case's level comes from."""
        return next(
            (d for d in self.determinations if d.status is DeterminationStatus.CONFIRMED), None
        )

    @property
    def pending(self) -> DeterminationView | None:
        return next(
            (d for d in self.determinations if d.status is DeterminationStatus.PENDING), None
        )


@dataclass(frozen=True)
class ToConfirm:
    """A determination waiting for the signed-in user's confirmation (its home page)."""

    case_number: str
    determination_id: int
    version: int
    classification_label: str
    level_label: str
    recorded_by: str
    recorded_at: datetime
