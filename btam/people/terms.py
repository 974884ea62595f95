"""The closed vocabularies of people: kinds, parts in a case, bases of disclosure."""

from __future__ import annotations

from enum import StrEnum


class PersonKind(StrEnum):
    STUDENT = "student"
    STAFF = "staff"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Part(StrEnum):
    """The part a person plays in a case."""

    SUBJECT = "subject"
    TARGET = "target"
    WITNESS = "witness"
    REPORTER = "reporter"
    PARENT = "parent"

    @property
    def label(self) -> str:
        return "Parent or guardian" if self is Part.PARENT else self.value.capitalize()


class DisclosureBasis(StrEnum):
    """The legal basis of a disclosure outside the school officials (34 CFR 99.31)."""

    HEALTH_SAFETY_EMERGENCY = "health_safety_emergency"
    PARENT_CONSENT = "parent_consent"
    SUBPOENA_OR_COURT_ORDER = "subpoena_or_court_order"
    TRANSFER_TO_SCHOOL = "transfer_to_school"
    JUVENILE_JUSTICE = "juvenile_justice"
    CHILD_PROTECTIVE_SERVICES = "child_protective_services"
    OTHER = "other"

    @property
    def label(self) -> str:
        return DISCLOSURE_BASIS_LABELS[self]


DISCLOSURE_BASIS_LABELS = {
    DisclosureBasis.HEALTH_SAFETY_EMERGENCY: "Health or safety emergency (§99.36)",
    DisclosureBasis.PARENT_CONSENT: "Written consent of the parent or eligible student",
    DisclosureBasis.SUBPOENA_OR_COURT_ORDER: "Subpoena or court order",
    DisclosureBasis.TRANSFER_TO_SCHOOL: "Transfer to a school where the student enrols",
    DisclosureBasis.JUVENILE_JUSTICE: "State juvenile justice system (state law)",
    DisclosureBasis.CHILD_PROTECTIVE_SERVICES: "Child protective services (state law)",
    DisclosureBasis.OTHER: "Other basis (stated)",
}
