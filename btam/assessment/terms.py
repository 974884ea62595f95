"""The closed vocabularies of assessment: where a fact came from, offences that must be
reported, the state of a determination and of each participant, and the notices it needs."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class FactSource(StrEnum):
    """Where a fact was learned (DOMAIN.md "Assessment (fact-based)")."""

    INTERVIEW_SUBJECT = "interview_subject"
    INTERVIEW_TARGET = "interview_target"
    INTERVIEW_WITNESS = "interview_witness"
    INTERVIEW_PARENT = "interview_parent"
    INTERVIEW_TEACHER = "interview_teacher"
    RECORD_REVIEW = "record_review"
    OBSERVATION = "observation"
    SOCIAL_MEDIA = "social_media"
    WEAPONS_ACCESS = "weapons_access"
    OTHER = "other"

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]

    @property
    def interviewee(self) -> str | None:
        """The interviewee kind of an interview (``subject``, ``witness``...), else None."""
        return (
            self.value.removeprefix("interview_") if self.value.startswith("interview_") else None
        )


SOURCE_LABELS: Final = {
    FactSource.INTERVIEW_SUBJECT: "Interview of the subject",
    FactSource.INTERVIEW_TARGET: "Interview of a target",
    FactSource.INTERVIEW_WITNESS: "Interview of a witness",
    FactSource.INTERVIEW_PARENT: "Interview of a parent or guardian",
    FactSource.INTERVIEW_TEACHER: "Interview of a teacher or staff member",
    FactSource.RECORD_REVIEW: "Review of records",
    FactSource.OBSERVATION: "Observation",
    FactSource.SOCIAL_MEDIA: "Social media",
    FactSource.WEAPONS_ACCESS: "Weapons-access inquiry",
    FactSource.OTHER: "Other",
}


class Offence(StrEnum):
    """What the facts may describe that the law says must be reported to an authority."""

    ASSAULT_WEAPON_OR_INJURY = "assault_weapon_or_injury"
    SEXUAL_OFFENCE = "sexual_offence"
    KIDNAPPING = "kidnapping"
    CHILD_ABUSE = "child_abuse"

    @property
    def label(self) -> str:
        return OFFENCE_LABELS[self]

    @property
    def authority(self) -> NoticeKind:
        """Whom the duty is owed to: child protective services for abuse, else law enforcement."""
        if self is Offence.CHILD_ABUSE:
            return NoticeKind.CHILD_PROTECTIVE_SERVICES
        return NoticeKind.LAW_ENFORCEMENT


OFFENCE_LABELS: Final = {
    Offence.ASSAULT_WEAPON_OR_INJURY: "Assault with a weapon or causing serious injury",
    Offence.SEXUAL_OFFENCE: "A sexual offence",
    Offence.KIDNAPPING: "Kidnapping",
    Offence.CHILD_ABUSE: "Suspected child abuse or neglect",
}


class DeterminationStatus(StrEnum):
    PENDING = "pending"  # recorded, waiting for every participant's confirmation
    CONFIRMED = "confirmed"  # every participant confirmed: the case took its level
    DISPUTED = "disputed"  # a participant objected: it changes nothing
    SUPERSEDED = "superseded"  # a newer determination was recorded while this one waited

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Response(StrEnum):
    """A participant's answer to a determination it is named in."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    OBJECTED = "objected"

    @property
    def label(self) -> str:
        return {"pending": "To confirm", "confirmed": "Confirmed", "objected": "Objected"}[
            self.value
        ]


class NoticeKind(StrEnum):
    """A notice a determination or a fact makes due, recorded when it was given."""

    SUPERINTENDENT = "superintendent"  # the superintendent or designee, at once
    PARENT = "parent"  # an attempt to notify the student's parents
    LAW_ENFORCEMENT = "law_enforcement"  # a report of an offence to law enforcement
    CHILD_PROTECTIVE_SERVICES = "child_protective_services"  # a report of suspected abuse

    @property
    def label(self) -> str:
        return NOTICE_LABELS[self]


NOTICE_LABELS: Final = {
    NoticeKind.SUPERINTENDENT: "Report to the superintendent or designee",
    NoticeKind.PARENT: "Attempt to notify the parents",
    NoticeKind.LAW_ENFORCEMENT: "Report to law enforcement",
    NoticeKind.CHILD_PROTECTIVE_SERVICES: "Report to child protective services",
}


class Method(StrEnum):
    """How a notice was given."""

    IN_PERSON = "in_person"
    PHONE = "phone"
    EMAIL = "email"
    LETTER = "letter"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "in_person": "In person",
            "phone": "Telephone",
            "email": "Email",
            "letter": "Letter",
            "other": "Other",
        }[self.value]
