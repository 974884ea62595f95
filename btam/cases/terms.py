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
