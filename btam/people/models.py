"""People across cases, and each person's record of disclosures (34 CFR 99.32).

A person's fields are under the person's own data key, so that one person can be destroyed
alone (crypto-shredding). Disclosures live under the person's key: they last as long as the
student's record.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from btam.db import CaseBase, UTCDateTime, utcnow, vocabulary
from btam.people.terms import DisclosureBasis, PersonKind
from btam.security.fields import encrypted_text


def person_scope(row: object) -> str:
    return f"person:{row.person_id}"  # type: ignore[attr-defined]


class Person(CaseBase):
    """A subject, target, witness, reporter or parent; one row per human, across cases."""

    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_student_id_index", "student_id_index"),
        Index("ix_people_name_dob_index", "name_dob_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    kind: Mapped[PersonKind] = mapped_column(vocabulary(PersonKind))
    # The school a student attends or a staff member works at; None for other people.
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), nullable=True)
    given_name = encrypted_text("given_name", scope=lambda p: f"person:{p.id}")
    family_name = encrypted_text("family_name", scope=lambda p: f"person:{p.id}")
    date_of_birth_text = encrypted_text("date_of_birth_text", scope=lambda p: f"person:{p.id}")
    student_number = encrypted_text("student_number", scope=lambda p: f"person:{p.id}")
    # A student's IEP or 504 plan (btam.plans.terms.SupportPlan), encrypted: disability status.
    support_plan = encrypted_text("support_plan", scope=lambda p: f"person:{p.id}")
    # Truncated keyed hashes (btam.security.blind_index): candidates, never proof.
    student_id_index: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name_dob_index: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A duplicate merged into another record keeps only this tombstone: the kept person's id,
    # when and by whom. Its fields and indexes are cleared; its cases, reports and
    # disclosures belong to the kept person.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    merged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    @property
    def date_of_birth(self) -> date | None:
        text = self.date_of_birth_text
        return date.fromisoformat(text) if text else None

    @property
    def full_name(self) -> str:
        return " ".join(n for n in (self.given_name, self.family_name) if n)


# What names and identifies a person: decrypted together, under the person's own key.
PERSON_FIELDS = (
    Person.given_name,
    Person.family_name,
    Person.date_of_birth_text,
    Person.student_number,
)


class Disclosure(CaseBase):
    """One entry of a student's record of disclosures (34 CFR 99.32)."""

    __tablename__ = "disclosures"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    disclosed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    basis: Mapped[DisclosureBasis] = mapped_column(vocabulary(DisclosureBasis))
    recipient = encrypted_text("recipient", scope=person_scope)
    interest = encrypted_text("interest", scope=person_scope)
    threat = encrypted_text("threat", scope=person_scope)
    parties = encrypted_text("parties", scope=person_scope)
    emergency_grant_id: Mapped[int | None] = mapped_column(
        ForeignKey("emergency_grants.id"), nullable=True
    )
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    is_emergency: Mapped[bool] = mapped_column(Boolean, default=False)
