"""What FERPA makes of each note, document and field: its record class."""

from __future__ import annotations

from enum import StrEnum


class RecordClass(StrEnum):
    """What FERPA makes of a note or document, and so who may read it."""

    EDUCATION = "education"
    COUNSELING = "counseling"
    LAW_ENFORCEMENT = "law_enforcement"

    @property
    def label(self) -> str:
        return RECORD_CLASS_LABELS[self]


RECORD_CLASS_LABELS = {
    RecordClass.EDUCATION: "Education record (the team)",
    RecordClass.COUNSELING: "Counseling record (mental health only)",
    RecordClass.LAW_ENFORCEMENT: "Law-enforcement unit record (law enforcement only)",
}
