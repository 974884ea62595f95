"""One event to record: what a service hands to the audit writer, before it has a seq."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from btam.audit.actions import AuditAction, Outcome

# The sizes of an entry's free fields; the writer refuses longer values instead of letting a
# database truncate them (and the store's columns are made to these sizes).
OBJECT_TYPE_MAX = 40
OBJECT_ID_MAX = 64
PURPOSE_MAX = 120


@dataclass(frozen=True)
class AuditEvent:
    """An audited event of one unit of work; the writer adds the actor, time, seq and hashes.

    ``object_id`` is an id (a user id, a case number), never a name or any content, and
    ``purpose`` one short line (a legal basis, a record class, an outcome's name): the writer
    refuses anything else when it is appended. ``anonymous`` records the event under the
    anonymous actor with no address, whoever acts: a tip, or the report of a reporter who
    asked that only the team lead know who reported.
    """

    action: AuditAction
    outcome: Outcome = Outcome.ALLOWED
    object_type: str | None = None
    object_id: str | int | None = None
    case_id: int | None = None
    school_id: int | None = None
    purpose: str | None = None
    anonymous: bool = False


class NotAppliedReason(StrEnum):
    """Why a change recorded in the trail did not reach the case store (fixed texts only)."""

    CASE_STORE_COMMIT_FAILED = "case store commit failed"
