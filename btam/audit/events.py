"""An event to record: what was done to which record, by the context's actor, never content."""

from __future__ import annotations

from dataclasses import dataclass

from btam.audit.actions import AuditAction, Outcome

# The sizes of an entry's free fields; the writer refuses longer values instead of letting a
# database truncate them (and the store's columns are made to these sizes).
OBJECT_TYPE_MAX = 40
OBJECT_ID_MAX = 64
PURPOSE_MAX = 120


@dataclass(frozen=True)
class AuditEvent:
    """One audit entry before it is written: the action, its outcome and the record's ids.

    ``object_id`` is an id or a case number, ``purpose`` one short line (a legal basis, a
    record class, an outcome's name): the writer refuses anything else. ``anonymous`` records
    the event under the anonymous actor with no address, whoever acts: a tip, or the report of
    a reporter who asked that only the team lead know who reported.
    """

    action: AuditAction
    outcome: Outcome = Outcome.ALLOWED
    object_type: str | None = None
    object_id: str | int | None = None
    case_id: int | None = None
    school_id: int | None = None
    purpose: str | None = None
    anonymous: bool = False
