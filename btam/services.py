"""What every service receives, and the unit of work: the audit entry first, then the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext
from btam.audit.writer import AuditWriter
from btam.security.actor import Actor
from btam.security.authn import SessionRules, Throttle
from btam.security.passwords import PasswordHashing, PasswordRules
from btam.settings import Settings


@dataclass(frozen=True)
class ServiceContext:
    """The acting user (None before sign-in), the stores and the rules, passed explicitly."""

    actor: Actor | None
    db: Session
    audit: AuditWriter
    audit_ctx: AuditContext
    # Read-only use by the auditor's views; every write goes through ``audit``.
    audit_sessions: sessionmaker[Session]
    settings: Settings
    hashing: PasswordHashing
    password_rules: PasswordRules
    throttle: Throttle
    session_rules: SessionRules
    now: datetime

    def commit_with_audit(
        self,
        action: AuditAction,
        *,
        outcome: Outcome = Outcome.ALLOWED,
        object_type: str | None = None,
        object_id: str | int | None = None,
        case_id: int | None = None,
        school_id: int | None = None,
        purpose: str | None = None,
    ) -> None:
        """Append the audit entry, then commit the case store; roll back if either fails.

        The entry is committed first so that no change can exist without its record; an entry
        for a change that then failed to commit is the lesser harm, and says so by its outcome
        being followed by no effect.

        :raises AuditUnavailable: when the audit store cannot take the entry (nothing changes).
        """
        try:
            self.audit.append(
                self.audit_ctx,
                action=action,
                outcome=outcome,
                object_type=object_type,
                object_id=None if object_id is None else str(object_id),
                case_id=case_id,
                school_id=school_id,
                purpose=purpose,
            )
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise

    def record(
        self,
        action: AuditAction,
        *,
        outcome: Outcome = Outcome.ALLOWED,
        object_type: str | None = None,
        object_id: str | int | None = None,
        case_id: int | None = None,
        school_id: int | None = None,
        purpose: str | None = None,
    ) -> None:
        """Audit an event that changes nothing in the case store (a view, a refusal).

        :raises AuditUnavailable: when the audit store cannot take the entry.
        """
        self.audit.append(
            self.audit_ctx,
            action=action,
            outcome=outcome,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            case_id=case_id,
            school_id=school_id,
            purpose=purpose,
        )
