"""The closed vocabularies of a case: its status and level of concern."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    ASSESSMENT = "assessment"
    MANAGEMENT = "management"
    MONITORING = "monitoring"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Level(StrEnum):
    """Level of concern, set by a determination."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    IMMINENT = "imminent"

    @property
    def label(self) -> str:
        return self.value.capitalize()
