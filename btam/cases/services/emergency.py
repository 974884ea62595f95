"""Health or safety emergency grants (34 CFR 99.36): read access to one case for a few hours.

A user outside a case states the articulable and significant threat and whom the information
goes to; the grant is audited (and so queued for the auditors' review), shown to the case's
team, and recorded as a disclosure on the record of every person in the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from btam.access import policy
from btam.access.permissions import Permission
from btam.access.policy import Act
from btam.access.refusal import refuse, require_permission
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.cases import repository
from btam.cases.models import EmergencyGrant
from btam.cases.services.guard import CASE_NUMBER, access_for, load_case
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.people.services.disclosures import stage_disclosure
from btam.people.terms import DisclosureBasis

THREAT_MIN = 20
THREAT_MAX = 4_000
PARTIES_MAX = 1_000


@dataclass(frozen=True)
class Granted:
    number: str
    expires_at: datetime


@dataclass(frozen=True)
class Statement:
    """What the holder of a grant stated when taking it, for the auditor's review."""

    number: str
    threat: str
    parties: str
    expires_at: datetime
    ended_at: datetime | None


def statement_of_grant(
    ctx: ServiceContext, *, case_id: int, user_id: int, granted_before: datetime
) -> Statement | None:
    """The threat and parties stated for the grant an audit entry records, or None.

    The auditor judges whether the threat was articulable and significant, so it reads the
    statement, and only that: not the case. The caller records the review page's view.

    :raises AccessDenied: without the permission to review grants (recorded).
    """
    require_permission(ctx, Permission.AUDIT_GRANTS_REVIEW)
    grant = repository.grant_taken(ctx.db, case_id, user_id, granted_before)
    if grant is None:
        return None
    numbers = repository.case_numbers(ctx.db, [case_id])
    return Statement(
        number=numbers.get(case_id, ""),
        threat=grant.threat or "",
        parties=grant.parties or "",
        expires_at=grant.expires_at,
        ended_at=grant.ended_at,
    )


def request_grant(
    ctx: ServiceContext, *, number: str, threat: str, parties: str
) -> Staged[Granted]:
    """Open case ``number`` to the actor for reading, for the configured hours.

    :raises ValidationFailed: the statement is missing or too short, or the actor already
        has access.
    """
    access = access_for(ctx)
    number = (number or "").strip()
    case = repository.case_exists(ctx.db, number) if CASE_NUMBER.fullmatch(number) else None
    if case is None:
        refuse(ctx, object_type="case", object_id=number, reason="no such case for a grant")
    facts = repository.facts(ctx.db, case)
    if policy.allowed(access, Act.VIEW_CASE, facts):
        raise ValidationFailed("You can already read this case.", field="number")
    decision = policy.allowed(access, Act.REQUEST_EMERGENCY, facts)
    if not decision:
        refuse(
            ctx,
            object_type="case",
            object_id=case.number,
            reason=decision.reason,
            case_id=case.id,
            school_id=case.school_id,
            hide=False,
        )
    statement = (threat or "").strip()
    if len(statement) < THREAT_MIN:
        raise ValidationFailed(
            "Describe the articulable and significant threat (at least 20 characters).",
            field="threat",
        )
    if len(statement) > THREAT_MAX:
        raise ValidationFailed("At most 4,000 characters.", field="threat")
    to_whom = (parties or "").strip()
    if not to_whom or len(to_whom) > PARTIES_MAX:
        raise ValidationFailed(
            "Name the parties the information is needed by (at most 1,000 characters).",
            field="parties",
        )
    actor = access.actor
    hours = ctx.settings.access_emergency_grant_hours
    expires = ctx.now + timedelta(hours=hours)
    grant = EmergencyGrant(
        case_id=case.id,
        user_id=actor.user_id,
        threat=statement,
        parties=to_whom,
        granted_at=ctx.now,
        expires_at=expires,
    )
    ctx.db.add(grant)
    ctx.db.flush()
    until = f"{expires:%Y-%m-%d %H:%M} UTC"
    recipient = f"{actor.display_name} ({actor.role.label}" + (
        f", {actor.agency})" if actor.agency else ")"
    )
    result = staged(
        Granted(case.number, expires),
        AuditEvent(
            AuditAction.ACCESS_EMERGENCY_GRANTED,
            object_type="case",
            object_id=case.id,
            case_id=case.id,
            school_id=case.school_id,
            purpose=f"health or safety emergency (34 CFR 99.36), {hours} h",
        ),
    )
    for _party, person in repository.parties(ctx.db, case.id):
        result += stage_disclosure(
            ctx,
            person_id=person.id,
            case=case,
            basis=DisclosureBasis.HEALTH_SAFETY_EMERGENCY,
            recipient=recipient,
            interest=f"Emergency access to case {case.number} until {until}",
            threat=statement,
            parties=to_whom,
            emergency_grant_id=grant.id,
        )
    return result


def end_grant(ctx: ServiceContext, number: str, grant_id: int) -> Staged[None]:
    """End a grant early: its holder, or the case's lead.

    :raises NotFound: no such grant on a case the actor may see (recorded).
    :raises AccessDenied: neither the holder nor the lead (recorded).
    :raises ValidationFailed: the grant has ended already.
    """
    loaded = load_case(ctx, number)
    case = loaded.case
    grant = repository.grant(ctx.db, grant_id)
    if grant is None or grant.case_id != case.id:
        refuse(ctx, object_type="emergency_grant", object_id=grant_id, reason="not visible")
    own = grant.user_id == loaded.access.actor.user_id
    if not own and not loaded.may(Act.MANAGE_CASE):
        refuse(
            ctx,
            object_type="emergency_grant",
            object_id=grant_id,
            reason="neither the holder nor the lead",
            case_id=case.id,
            school_id=case.school_id,
            hide=False,
        )
    if grant.ended_at is not None or grant.expires_at <= ctx.now:
        raise ValidationFailed("This grant has already ended.")
    grant.ended_at = ctx.now
    return staged(
        None,
        loaded.event(
            AuditAction.ACCESS_EMERGENCY_ENDED, object_type="emergency_grant", object_id=grant.id
        ),
    )
