"""Referrals with their history, notifications given, and a subject's documented history that
obliges telling staff before an assignment.

Every agency, contact, reason, consent text, outcome, recipient and summary is an encrypted
field under the case's key (a documented history under the person's, since it follows the
person across cases). Statuses, dates and ids are not sensitive and stay plain, so the open
lists are built without decrypting anything.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from btam.access.record_classes import RecordClass
from btam.assessment.terms import Method
from btam.cases.models import case_scope
from btam.db import CaseBase, UTCDateTime, utcnow, vocabulary
from btam.people.models import person_scope
from btam.people.terms import DisclosureBasis
from btam.plans.referral_terms import (
    Audience,
    Consent,
    Destination,
    ReferralMove,
    ReferralStatus,
)
from btam.security.fields import encrypted_text


class Referral(CaseBase):
    """A referral of one of the case's people to a service, followed until it happened or the
    reason it did not is recorded."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # The person referred (one of the case's people): whose record of disclosures it joins.
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    destination: Mapped[Destination] = mapped_column(vocabulary(Destination))
    agency = encrypted_text("agency", scope=case_scope)
    contact = encrypted_text("contact", scope=case_scope)
    reason = encrypted_text("reason", scope=case_scope)
    record_class: Mapped[RecordClass] = mapped_column(vocabulary(RecordClass))
    consent: Mapped[Consent] = mapped_column(vocabulary(Consent))
    # Consent obtained: the records it names, its purpose and recipient, and its date.
    consent_records = encrypted_text("consent_records", scope=case_scope)
    consent_purpose = encrypted_text("consent_purpose", scope=case_scope)
    consent_recipient = encrypted_text("consent_recipient", scope=case_scope)
    consent_on: Mapped[date | None] = mapped_column(nullable=True)
    # Consent not needed: the legal basis chosen, and why it applies.
    legal_basis: Mapped[DisclosureBasis | None] = mapped_column(
        vocabulary(DisclosureBasis), nullable=True
    )
    basis_statement = encrypted_text("basis_statement", scope=case_scope)
    status: Mapped[ReferralStatus] = mapped_column(
        vocabulary(ReferralStatus), default=ReferralStatus.DRAFTED
    )
    follow_up_on: Mapped[date | None] = mapped_column(nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The disclosure its sending recorded (none for a referral inside the school).
    disclosure_id: Mapped[int | None] = mapped_column(ForeignKey("disclosures.id"), nullable=True)
    outcome = encrypted_text("outcome", scope=case_scope)
    # Who drafted it: the author, for the record-class rules it shares with notes.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReferralStep(CaseBase):
    """One step of a referral's history: the move, the status it led to, what was learned."""

    __tablename__ = "referral_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    move: Mapped[ReferralMove] = mapped_column(vocabulary(ReferralMove))
    from_status: Mapped[ReferralStatus] = mapped_column(vocabulary(ReferralStatus))
    to_status: Mapped[ReferralStatus] = mapped_column(vocabulary(ReferralStatus))
    note = encrypted_text("note", scope=case_scope)
    follow_up_on: Mapped[date | None] = mapped_column(nullable=True)
    taken_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notification(CaseBase):
    """Someone told of the threat: whom, when, how, by whom, and what was said in summary."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    audience: Mapped[Audience] = mapped_column(vocabulary(Audience))
    # The case's person the duty is about: the target told, the threatened student whose
    # parents were told, the subject whose history staff were told of.
    about_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    recipient = encrypted_text("recipient", scope=case_scope)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[Method] = mapped_column(vocabulary(Method))
    summary = encrypted_text("summary", scope=case_scope)
    record_class: Mapped[RecordClass] = mapped_column(vocabulary(RecordClass))
    # Who recorded it: the author, for the record-class rules it shares with notes.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DocumentedHistory(CaseBase):
    """A person's documented history of violence against staff or of carrying a weapon.

    Kept under the person's key, because it follows the person to every later case: staff
    assigned to the person must be told in writing before the assignment. What it is
    (``kind``) and where it is documented are both encrypted; only the person and the case
    it was recorded in are plain.
    """

    __tablename__ = "documented_histories"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind = encrypted_text("kind", scope=person_scope)
    documented_in = encrypted_text("documented_in", scope=person_scope)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
