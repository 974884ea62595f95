"""The core case records: cases and their parties, members, work assignments, notes,
attachments, emergency grants and the history of their status.

Every narrative and note is an encrypted field under the case's own data key, so that one
case can be destroyed alone (crypto-shredding).
"""

from __future__ import annotations

import base64
from datetime import date, datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from btam.access.record_classes import RecordClass
from btam.cases.lifecycle import Transition
from btam.cases.terms import CaseStatus
from btam.db import CaseBase, UTCDateTime, utcnow, vocabulary
from btam.people.terms import Part
from btam.security.fields import encrypted_text


def case_scope(row: object) -> str:
    return f"case:{row.case_id}"  # type: ignore[attr-defined]


class CaseCounter(CaseBase):
    """The last case number given per district and year (``2026-0042``)."""

    __tablename__ = "case_counters"

    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Case(CaseBase):
    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("district_id", "number", name="uq_cases_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    number: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[CaseStatus] = mapped_column(
        vocabulary(CaseStatus), default=CaseStatus.ASSESSMENT
    )
    # A level key of the case's assessment model (low, moderate, medium, high, imminent...).
    level: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The model and version the case's assessment follows, kept from its opening.
    assessment_model: Mapped[str | None] = mapped_column(String(40), nullable=True)
    assessment_model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    summary = encrypted_text("summary", scope=lambda c: f"case:{c.id}")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CaseParty(CaseBase):
    """A person's part in a case."""

    __tablename__ = "case_parties"
    __table_args__ = (UniqueConstraint("case_id", "person_id", "part", name="uq_case_parties"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    part: Mapped[Part] = mapped_column(vocabulary(Part))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseMember(CaseBase):
    """A user working a case beside its team (a member from another team, a specialist)."""

    __tablename__ = "case_members"
    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_case_members"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Assignment(CaseBase):
    """Work a case gave one user before management plans (read-only now).

    Migration 0012 made each one a plan item (``btam.plans.models.PlanItem.assignment_id``);
    its text stays here, its ciphertext being bound to this row, and the plan reads it.
    """

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    task = encrypted_text("task", scope=case_scope)
    due_on: Mapped[date | None] = mapped_column(nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Note(CaseBase):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    record_class: Mapped[RecordClass] = mapped_column(vocabulary(RecordClass))
    body = encrypted_text("body", scope=case_scope)
    # For a counseling or law-enforcement note: what its author shares with the whole team.
    team_summary = encrypted_text("team_summary", scope=case_scope)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Attachment(CaseBase):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    record_class: Mapped[RecordClass] = mapped_column(vocabulary(RecordClass))
    filename = encrypted_text("filename", scope=case_scope)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    # The fact it documents, if any (the fact's series).
    fact_series_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # The bytes as base64 text inside one encrypted field (a third larger; files are small).
    content_b64 = encrypted_text("content_b64", scope=case_scope)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.content_b64 or "")

    @content.setter
    def content(self, data: bytes) -> None:
        self.content_b64 = base64.b64encode(data).decode("ascii")
        self.size = len(data)


class EmergencyGrant(CaseBase):
    """Read access to one case for a user outside it, in a health or safety emergency."""

    __tablename__ = "emergency_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    threat = encrypted_text("threat", scope=case_scope)
    parties = encrypted_text("parties", scope=case_scope)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class CaseStatusChange(CaseBase):
    """One transition of a case's status or level of concern, kept as its history."""

    __tablename__ = "case_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    transition: Mapped[Transition] = mapped_column(vocabulary(Transition))
    from_status: Mapped[CaseStatus] = mapped_column(vocabulary(CaseStatus))
    to_status: Mapped[CaseStatus] = mapped_column(vocabulary(CaseStatus))
    from_level: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_level: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason = encrypted_text("reason", scope=case_scope)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
