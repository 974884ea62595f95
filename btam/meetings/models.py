"""A team's meetings: when and where, the agenda stored when the lead builds it, who attended
(with their discipline, or as a guest) and acknowledged confidentiality, the minutes of each
item and the decisions the meeting carried into the cases.

Minutes about a case are encrypted under the case's key (destroying the case destroys them);
guests' names, free topics and minutes of a topic under the meeting's own key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from btam.access.record_classes import RecordClass
from btam.db import CaseBase, UTCDateTime, utcnow, vocabulary
from btam.meetings.terms import DecisionKind, ItemKind, MeetingKind
from btam.security.fields import encrypted_text


def meeting_scope(row: object) -> str:
    return f"meeting:{row.meeting_id}"  # type: ignore[attr-defined]


def minute_scope(row: object) -> str:
    case_id = row.case_id  # type: ignore[attr-defined]
    return f"case:{case_id}" if case_id is not None else meeting_scope(row)


class Meeting(CaseBase):
    """A team's meeting, regular or urgent, at a UTC moment and a place."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    kind: Mapped[MeetingKind] = mapped_column(vocabulary(MeetingKind))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # A room, not a person: "Room 204, North High".
    place: Mapped[str] = mapped_column(String(200))
    scheduled_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    agenda_built_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AgendaItem(CaseBase):
    """One item of a meeting's agenda: a report, a case (with the record it is about), or a
    topic. A removed item stays, marked, so rebuilding the agenda does not bring it back."""

    __tablename__ = "agenda_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ItemKind] = mapped_column(vocabulary(ItemKind))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), nullable=True)
    # The record of the case the item is about (a determination, a plan item...), by kind.
    ref_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    topic = encrypted_text("topic", scope=meeting_scope)
    # What the lead shows the meeting's guests.
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Attendee(CaseBase):
    """Someone at the meeting: a user (its discipline as it was then) or a named guest."""

    __tablename__ = "meeting_attendees"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id", name="uq_meeting_attendees"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    guest: Mapped[bool] = mapped_column(Boolean, default=False)
    guest_name = encrypted_text("guest_name", scope=meeting_scope)
    guest_affiliation = encrypted_text("guest_affiliation", scope=meeting_scope)
    discipline: Mapped[str | None] = mapped_column(String(32), nullable=True)
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The confidentiality acknowledgement, once per attendee and meeting.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Minute(CaseBase):
    """The minutes of one agenda item, an education record of its case (if any)."""

    __tablename__ = "meeting_minutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    record_class: Mapped[RecordClass] = mapped_column(vocabulary(RecordClass))
    body = encrypted_text("body", scope=minute_scope)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MeetingDecision(CaseBase):
    """A decision taken in the meeting and carried out on a case by the case's own service:
    the link from the case's record (a determination, a status change...) to the meeting."""

    __tablename__ = "meeting_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[DecisionKind] = mapped_column(vocabulary(DecisionKind))
    determination_id: Mapped[int | None] = mapped_column(
        ForeignKey("determinations.id"), nullable=True
    )
    status_change_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_status_changes.id"), nullable=True
    )
    # The record of another stage (a plan item, a referral, a review) the decision made.
    ref_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
