"""A case's management plan: its items with their progress notes, the counselors' log of
sessions and contacts, the team's reviews, and the district's calendar of non-school days.

Descriptions, notes and summaries are encrypted under the case's own data key; a log
entry's private notes are a counseling record, its summary the part the team reads.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from btam.cases.models import case_scope
from btam.db import CaseBase, UTCDateTime, utcnow, vocabulary
from btam.plans.terms import Aim, Intervention, ItemStatus, LogKind
from btam.security.fields import encrypted_text


class PlanItem(CaseBase):
    """One intervention of the plan, with its aim, owner, due date and status."""

    __tablename__ = "plan_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    intervention: Mapped[Intervention] = mapped_column(vocabulary(Intervention))
    description = encrypted_text("description", scope=case_scope)
    aim: Mapped[Aim] = mapped_column(vocabulary(Aim))
    # The case party the item protects (aim "target"); None for the subject or environment.
    target_party_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_parties.id"), nullable=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[ItemStatus] = mapped_column(vocabulary(ItemStatus), default=ItemStatus.PLANNED)
    status_reason = encrypted_text("status_reason", scope=case_scope)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # An item carried over from the work assignments of before the plan (migration 0012):
    # its text stays in that row, whose ciphertext is bound to it, and is read from there.
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignments.id"), nullable=True, unique=True
    )


class PlanProgress(CaseBase):
    """A progress note on a plan item (education record: the team reads it)."""

    __tablename__ = "plan_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("plan_items.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body = encrypted_text("body", scope=case_scope)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LogEntry(CaseBase):
    """A session or contact the owner of a plan item logs: private notes and a team summary."""

    __tablename__ = "intervention_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("plan_items.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    kind: Mapped[LogKind] = mapped_column(vocabulary(LogKind))
    # A counseling record: the mental-health discipline and the author read it.
    private_notes = encrypted_text("private_notes", scope=case_scope)
    team_summary = encrypted_text("team_summary", scope=case_scope)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Review(CaseBase):
    """A review of the case: who reviewed, what changed, and the next review date."""

    __tablename__ = "case_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reviewed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changes = encrypted_text("changes", scope=case_scope)
    next_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    final: Mapped[bool] = mapped_column(default=False)


class ReviewSchedule(CaseBase):
    """The next review date of a case under management or monitoring (one row per case)."""

    __tablename__ = "review_schedules"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    due_on: Mapped[date] = mapped_column(Date)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NonSchoolDay(CaseBase):
    """A day the district's schools are closed: "school days" from now skip it."""

    __tablename__ = "non_school_days"
    __table_args__ = (UniqueConstraint("district_id", "day", name="uq_non_school_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    day: Mapped[date] = mapped_column(Date)
