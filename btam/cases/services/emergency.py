"""Health or safety emergency grants (34 CFR 99.36): read access to one case for a few hours.

A user outside a case states the articulable and significant threat and whom the information
goes to; the grant is audited (and so queued for the auditors' review), shown to the case's
team, and recorded as a disclosure on the record of every person in the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from btam.audit.actions import AuditAction
from btam.cases import repository
from btam.cases.models import Disclosure, EmergencyGrant
from btam.cases.services.access import access_for, refuse
from btam.cases.services.cases import CASE_NUMBER
from btam.cases.terms import DisclosureBasis
from btam.errors import ValidationFailed
from btam.security import policy
from btam.security.policy import Act
from btam.services import ServiceContext

THREAT_MIN = 20
THREAT_MAX = 4_000
PARTIES_MAX = 1_000


@dataclass(frozen=True)
class Granted:
    number: str
    expires_at: datetime


def request_grant(ctx: ServiceContext, *, number: str, threat: str, parties: str) -> Granted:
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
    if policy.can(access, Act.VIEW_CASE, facts):
        raise ValidationFailed("You can already read this case.", field="number")
    decision = policy.can(access, Act.REQUEST_EMERGENCY, facts)
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
    for _party, person in repository.parties(ctx.db, case.id):
        ctx.db.add(
            Disclosure(
                person_id=person.id,
                case_id=case.id,
                disclosed_at=ctx.now,
                basis=DisclosureBasis.HEALTH_SAFETY_EMERGENCY,
                recipient=recipient,
                interest=f"Emergency access to case {case.number} until {until}",
                threat=statement,
                parties=to_whom,
                emergency_grant_id=grant.id,
                recorded_by=actor.user_id,
                is_emergency=True,
            )
        )
    ctx.commit_with_audit(
        AuditAction.ACCESS_EMERGENCY_GRANTED,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        school_id=case.school_id,
        purpose=f"health or safety emergency (34 CFR 99.36), {hours} h",
    )
    return Granted(case.number, expires)


def end_grant(ctx: ServiceContext, number: str, grant_id: int) -> None:
    """End a grant early: its holder, or the case's lead."""
    access = access_for(ctx)
    case = repository.case_by_number(ctx.db, access, number, Act.VIEW_HEADER)
    grant = repository.grant(ctx.db, grant_id)
    if case is None or grant is None or grant.case_id != case.id:
        refuse(ctx, object_type="emergency_grant", object_id=grant_id, reason="not visible")
    own = grant.user_id == access.actor.user_id
    if not own and not policy.can(access, Act.MANAGE_CASE, repository.facts(ctx.db, case)):
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
    ctx.commit_with_audit(
        AuditAction.ACCESS_EMERGENCY_ENDED,
        object_type="emergency_grant",
        object_id=grant.id,
        case_id=case.id,
        school_id=case.school_id,
    )
