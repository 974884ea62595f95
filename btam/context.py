"""What every service receives, and the unit of work: audit entries first, then the change."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from btam.access.actor import Actor
from btam.accounts.authn import SessionRules, Throttle
from btam.assessment.catalog import Catalog
from btam.audit.actions import CHANGE_ACTIONS, AuditAction, Outcome
from btam.audit.applied import AppliedChange
from btam.audit.context import SYSTEM_ROLE, AuditContext
from btam.audit.events import AuditEvent, NotAppliedReason
from btam.audit.writer import AuditUnavailable, AuditWriter
from btam.db import utcnow
from btam.security.passwords import PasswordHashing, PasswordRules
from btam.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


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
    catalog: Catalog
    now: datetime

    def commit_with_audit(self, *events: AuditEvent) -> None:
        """Append the use case's audit entries, then commit the case store; fail closed.

        The entries are appended in one audit transaction before the case store commits, so
        no change can exist without its record; if the audit store refuses, the case store is
        rolled back and nothing changes. The case store keeps the seq of every entry of a
        change in the change's own transaction (``applied_changes``); if its commit fails
        after the entries were appended, the trail is told the change did not happen
        (``audit:change:not_applied``), so entries and changes always reconcile.

        :raises AuditUnavailable: when the audit store cannot take the entries.
        """
        try:
            seqs = self.audit.append_all(self.audit_ctx, events)
        except BaseException:
            self.db.rollback()
            raise
        changed = [seq for seq, e in zip(seqs, events, strict=True) if e.action in CHANGE_ACTIONS]
        try:
            for seq in changed:
                self.db.add(AppliedChange(audit_seq=seq, applied_at=utcnow()))
            self.db.commit()
        except BaseException:
            self.db.rollback()
            if changed:
                self._mark_not_applied(changed)
            raise

    def _mark_not_applied(self, seqs: list[int]) -> None:
        # Recorded by the system, not the actor: the entry it corrects may be anonymous.
        marker = AuditContext(
            actor_id=None,
            actor_role=SYSTEM_ROLE,
            request_id=self.audit_ctx.request_id,
            client_address=None,
        )
        try:
            self.audit.mark_not_applied(marker, seqs, NotAppliedReason.CASE_STORE_COMMIT_FAILED)
        except AuditUnavailable:
            # `btam audit reconcile` still finds the entries without their change.
            log.error(
                "audit store unavailable: %d entries could not be marked as not applied", len(seqs)
            )

    def anonymous(self) -> ServiceContext:
        """This context recording as the anonymous actor, with no client address.

        The tip line and a confidential reporter's report: an address or an account in the
        trail could identify someone who asked not to be known.
        """
        return replace(self, audit_ctx=AuditContext.anonymous(self.audit_ctx.request_id))

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
        self.audit.append_all(
            self.audit_ctx,
            [
                AuditEvent(
                    action,
                    outcome=outcome,
                    object_type=object_type,
                    object_id=object_id,
                    case_id=case_id,
                    school_id=school_id,
                    purpose=purpose,
                )
            ],
        )


@dataclass(frozen=True)
class Staged(Generic[T_co]):
    """A change a service made in the session but did not commit: its result and its events.

    Services never commit; the use case commits what they staged once, audit first
    (:func:`carry_out`), so a change and the changes it implies (a referral and its
    disclosure) share one transaction.
    """

    value: T_co
    events: tuple[AuditEvent, ...] = ()

    def __add__(self, other: Staged[Any]) -> Staged[T_co]:
        """This change followed by ``other``'s events (the value stays this one's)."""
        return Staged(self.value, self.events + other.events)


def staged(value: T, *events: AuditEvent) -> Staged[T]:
    """A staged change with ``value`` and its ``events``."""
    return Staged(value, events)


def carry_out(ctx: ServiceContext, change: Staged[T]) -> T:
    """Commit what a use case staged, its audit entries first, and return its result.

    :raises AuditUnavailable: when the audit store cannot take the entries (nothing changes).
    """
    ctx.commit_with_audit(*change.events)
    return change.value
