"""The records of a case's assessment: facts (with their versions), answers to the model's
questions, determinations with their participants, and the notices they make due.

Every statement, note, rationale and recipient is an encrypted field under the case's key.
Nothing here is edited in place: a corrected fact, a changed answer, a new determination each
add a row that supersedes the one before, which stays readable with who wrote it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from btam.access.record_classes import RecordClass
from btam.assessment.terms import (
    DeterminationStatus,
    FactSource,
    Method,
    NoticeKind,
    Offence,
    Response,
)
from btam.cases.models import case_scope
from btam.db import CaseBase, UTCDateTime, utcnow, vocabulary
from btam.security.fields import encrypted_text


class Fact(CaseBase):
    """One version of a fact the team learned: what, from which source, when, by whom.

    ``series_id`` is the id of the fact's first version; answers and determinations cite the
    series, so a correction keeps them pointing at the fact, and ``superseded_by_id`` marks
    every version but the newest.
    """

    __tablename__ = "facts"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    series_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("facts.id"), nullable=True)
    source: Mapped[FactSource] = mapped_column(vocabulary(FactSource))
    learned_on: Mapped[date] = mapped_column()
    gathered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # An interview's interviewee: one of the case's people.
    interviewee_party_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_parties.id"), nullable=True
    )
    corroborated: Mapped[bool] = mapped_column(Boolean, default=False)
    record_class: Mapped[RecordClass] = mapped_column(vocabulary(RecordClass))
    offence: Mapped[Offence | None] = mapped_column(vocabulary(Offence), nullable=True)
    statement = encrypted_text("statement", scope=case_scope)
    corroboration = encrypted_text("corroboration", scope=case_scope)
    # For a counseling or law-enforcement fact: what its author shares with the whole team.
    team_summary = encrypted_text("team_summary", scope=case_scope)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Answer(CaseBase):
    """The team's answer to one question of the case's model, citing facts; newest counts."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    question_key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(16))
    note = encrypted_text("note", scope=case_scope)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id"), nullable=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AnswerFact(CaseBase):
    """A fact an answer rests on (a link to the fact's series, never a copy of its text)."""

    __tablename__ = "answer_facts"
    __table_args__ = (UniqueConstraint("answer_id", "fact_series_id", name="uq_answer_facts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id"), index=True)
    fact_series_id: Mapped[int] = mapped_column(Integer, index=True)


class Determination(CaseBase):
    """The team's classification and level of concern, with its rationale and participants.

    A determination changes the case only once every participant has confirmed it with their
    own sign-in; a newer one is a new row (``version``), none overwrites another.
    """

    __tablename__ = "determinations"
    __table_args__ = (UniqueConstraint("case_id", "version", name="uq_determinations_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[str] = mapped_column(String(40))
    model_version: Mapped[int] = mapped_column(Integer)
    classification: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(32))
    offence: Mapped[Offence | None] = mapped_column(vocabulary(Offence), nullable=True)
    rationale = encrypted_text("rationale", scope=case_scope)
    status: Mapped[DeterminationStatus] = mapped_column(
        vocabulary(DeterminationStatus), default=DeterminationStatus.PENDING
    )
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Participant(CaseBase):
    """A team member who took part in a determination, and its own confirmation or objection."""

    __tablename__ = "determination_participants"
    __table_args__ = (
        UniqueConstraint("determination_id", "user_id", name="uq_determination_participants"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    determination_id: Mapped[int] = mapped_column(ForeignKey("determinations.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The discipline the participant counted for, as it was then.
    discipline: Mapped[str] = mapped_column(String(32))
    knows_subject: Mapped[bool] = mapped_column(Boolean, default=False)
    response: Mapped[Response] = mapped_column(vocabulary(Response), default=Response.PENDING)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    objection = encrypted_text("objection", scope=case_scope)


class DeterminationFact(CaseBase):
    """A fact a determination rests on (its series)."""

    __tablename__ = "determination_facts"
    __table_args__ = (
        UniqueConstraint("determination_id", "fact_series_id", name="uq_determination_facts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    determination_id: Mapped[int] = mapped_column(ForeignKey("determinations.id"), index=True)
    fact_series_id: Mapped[int] = mapped_column(Integer)


class Notice(CaseBase):
    """A notice given: to the superintendent, an attempt to reach the parents, a report of an
    offence to law enforcement or child protective services. Whom, when, how, reached."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[NoticeKind] = mapped_column(vocabulary(NoticeKind))
    determination_id: Mapped[int | None] = mapped_column(
        ForeignKey("determinations.id"), nullable=True
    )
    offence: Mapped[Offence | None] = mapped_column(vocabulary(Offence), nullable=True)
    recipient = encrypted_text("recipient", scope=case_scope)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[Method] = mapped_column(vocabulary(Method))
    # For an attempt to reach someone: whether it did; None where it does not apply.
    reached: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    note = encrypted_text("note", scope=case_scope)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
