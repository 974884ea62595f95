"""One event to record: what a service hands to the audit writer, before it has a seq."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from btam.audit.actions import AuditAction, Outcome


@dataclass(frozen=True)
class AuditEvent:
    """An audited event of one unit of work; the writer adds the actor, time, seq and hashes.

    ``object_id`` is an id (a user id, a case number), never a name or any content; the writer
    refuses anything else when it is appended.
    """

    action: AuditAction
    outcome: Outcome = Outcome.ALLOWED
    object_type: str | None = None
    object_id: str | int | None = None
    case_id: int | None = None
    school_id: int | None = None
    purpose: str | None = None


class NotAppliedReason(StrEnum):
    """Why a change recorded in the trail did not reach the case store (fixed texts only)."""

    CASE_STORE_COMMIT_FAILED = "case store commit failed"
