"""Intake records: reports from every channel (anonymous tips included), the people they
name (as typed, then linked to people by the team), their files, the immediate actions of an
imminent danger, and the anonymous follow-up conversation of a tip.

A report's narrative, place, files, actions, messages and mentions are under the report's own
data key. Triaged into a case, the report's key is bound to the case's
(:func:`btam.security.keys.bind_scope`): destroying the case's key destroys the report's too,
so crypto-shredding a case leaves nothing of its reports readable.
"""

from __future__ import annotations

import base64
from datetime import date, datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from btam.db import CaseBase, UTCDateTime, utcnow, vocabulary
from btam.intake.terms import (
    Channel,
    ImmediateAction,
    NoThreatAction,
    ReportStatus,
    TipCategory,
    TriageOutcome,
)
from btam.people.terms import Part, PersonKind
from btam.security.fields import encrypted_text


def report_scope(row: object) -> str:
    return f"report:{row.report_id}"  # type: ignore[attr-defined]


class Report(CaseBase):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    channel: Mapped[Channel] = mapped_column(vocabulary(Channel))
    category: Mapped[TipCategory | None] = mapped_column(vocabulary(TipCategory), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # None for an anonymous tip: nothing links it to anyone.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reporter_confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    occurred = encrypted_text("occurred", scope=lambda r: f"report:{r.id}")
    location = encrypted_text("location", scope=lambda r: f"report:{r.id}")
    narrative = encrypted_text("narrative", scope=lambda r: f"report:{r.id}")
    # What a tipster typed about who is involved (names the team turns into people).
    who = encrypted_text("who", scope=lambda r: f"report:{r.id}")
    imminent: Mapped[bool] = mapped_column(Boolean, default=False)
    imminent_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    imminent_acknowledged_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True
    )
    status: Mapped[ReportStatus] = mapped_column(
        vocabulary(ReportStatus), default=ReportStatus.RECEIVED
    )
    # Screening at triage: None until answered.
    screen_imminent: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    screen_threat_communicated: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    screen_someone_in_fear: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    screen_has_plan: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    screen_manageable_under_plan: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    outcome: Mapped[TriageOutcome | None] = mapped_column(vocabulary(TriageOutcome), nullable=True)
    no_threat_action: Mapped[NoThreatAction | None] = mapped_column(
        vocabulary(NoThreatAction), nullable=True
    )
    outcome_reason = encrypted_text("outcome_reason", scope=lambda r: f"report:{r.id}")
    # A report belongs to one case at most.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    triaged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ReportPerson(CaseBase):
    __tablename__ = "report_people"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    part: Mapped[Part] = mapped_column(vocabulary(Part))


class ReportMention(CaseBase):
    """A person as the reporter typed them: kept as typed until the team links it at triage.

    Reporters never learn whether anyone with that name or student id is known: the match is
    the triaging team's, among the people it may see.
    """

    __tablename__ = "report_mentions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    part: Mapped[Part] = mapped_column(vocabulary(Part))
    kind: Mapped[PersonKind] = mapped_column(vocabulary(PersonKind))
    given_name = encrypted_text("given_name", scope=report_scope)
    family_name = encrypted_text("family_name", scope=report_scope)
    date_of_birth_text = encrypted_text("date_of_birth_text", scope=report_scope)
    student_number = encrypted_text("student_number", scope=report_scope)
    # The person's blind indexes (btam.security.blind_index), so that the team finds other
    # reports naming the same person before anyone is linked: candidates, never proof.
    student_id_index: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    name_dob_index: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # The person the team linked it to at triage; None until then.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id"), nullable=True, index=True
    )
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    linked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    @property
    def date_of_birth(self) -> date | None:
        text = self.date_of_birth_text
        return date.fromisoformat(text) if text else None

    @property
    def full_name(self) -> str:
        return " ".join(n for n in (self.given_name, self.family_name) if n)


class ReportAttachment(CaseBase):
    __tablename__ = "report_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    filename = encrypted_text("filename", scope=report_scope)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content_b64 = encrypted_text("content_b64", scope=report_scope)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.content_b64 or "")

    @content.setter
    def content(self, data: bytes) -> None:
        self.content_b64 = base64.b64encode(data).decode("ascii")
        self.size = len(data)


class ReportAction(CaseBase):
    """An immediate action taken about an imminent danger: what, by whom, when."""

    __tablename__ = "report_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    action: Mapped[ImmediateAction] = mapped_column(vocabulary(ImmediateAction))
    taken_by = encrypted_text("taken_by", scope=report_scope)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TipAccess(CaseBase):
    """The tipster's follow-up code: a public lookup part and a slow hash of the secret part."""

    __tablename__ = "tip_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), unique=True)
    lookup: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))


class TipMessage(CaseBase):
    """One message of the anonymous conversation between a tipster and the team."""

    __tablename__ = "tip_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    from_tipster: Mapped[bool] = mapped_column(Boolean)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    body = encrypted_text("body", scope=report_scope)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RateLimitSalt(CaseBase):
    """The random salt of one rate limit's current window.

    A client's key is HMAC(salt, address): the salt is replaced when its window ends and
    deleted by the pruning (``btam.housekeeping``), so the keys of a window that has passed
    cannot be matched to an address by anyone, even with every key of the app.
    """

    __tablename__ = "rate_limit_salts"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RateLimitEvent(CaseBase):
    """One counted event (a tip, a wrong follow-up code) under its window's salted key."""

    __tablename__ = "rate_limit_events"
    __table_args__ = (Index("ix_rate_limit_events_scope_key", "scope", "key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SpentProof(CaseBase):
    """A proof of work the tip line has accepted: each one buys one tip, once."""

    __tablename__ = "spent_proofs"

    challenge_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RateLimitAlert(CaseBase):
    """A limit passed in its current window (the tip line flooded): raised once a window."""

    __tablename__ = "rate_limit_alerts"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
