"""The record of disclosures kept with each person's record (34 CFR 99.32)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from btam.access import policy
from btam.access.policy import Act
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.cases import repository as case_repo
from btam.cases.models import Case
from btam.cases.services.guard import access_for
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.people import dto, repository
from btam.people.models import Disclosure
from btam.people.terms import DisclosureBasis

TEXT_MAX = 2_000


WITHHELD = "Made from a case you may not see; the auditors see the details."


def disclosure_views(
    ctx: ServiceContext, items: Sequence[Disclosure], *, readable_cases: set[int] | None = None
) -> list[dto.DisclosureView]:
    """The disclosures as shown; with ``readable_cases``, the details of a disclosure made
    from a case outside that set (another team's emergency, say) are withheld."""
    names = {
        i: u.display_name
        for i in {d.recorded_by for d in items if d.recorded_by}
        if (u := accounts_repo.user(ctx.db, i)) is not None
    }
    numbers = case_repo.case_numbers(ctx.db, (d.case_id for d in items if d.case_id))
    views = []
    for d in items:
        hidden = (
            readable_cases is not None
            and d.case_id is not None
            and (d.case_id not in readable_cases)
        )
        views.append(
            dto.DisclosureView(
                id=d.id,
                person_id=d.person_id,
                case_number=None if hidden or not d.case_id else numbers.get(d.case_id),
                disclosed_at=d.disclosed_at,
                basis=d.basis,
                recipient=d.recipient or "",
                interest=WITHHELD if hidden else d.interest,
                threat=None if hidden else d.threat,
                parties=None if hidden else d.parties,
                is_emergency=d.is_emergency,
                recorded_by=names.get(d.recorded_by) if d.recorded_by else None,
            )
        )
    return views


def record_disclosure(
    ctx: ServiceContext,
    person_id: int,
    *,
    basis: DisclosureBasis,
    recipient: str,
    interest: str,
    disclosed_at: datetime,
    case_number: str | None = None,
) -> Staged[None]:
    """Add an entry to the person's record of disclosures (34 CFR 99.32).

    :raises NotFound: the person is not visible to the actor (recorded).
    :raises AccessDenied: the actor may not record disclosures on this person's cases.
    :raises ValidationFailed: a field is missing or too long, or the date is in the future.
    """
    access = access_for(ctx)
    person = repository.person(ctx.db, access, person_id)
    if person is None:
        refuse(ctx, object_type="person", object_id=person_id, reason="not visible")
    cases = [c for c, _ in repository.cases_of_person(ctx.db, access, person.id)]
    allowed = [
        c
        for c in cases
        if policy.allowed(access, Act.RECORD_DISCLOSURE, case_repo.facts(ctx.db, c))
    ]
    if not allowed:
        refuse(
            ctx,
            object_type="person",
            object_id=person_id,
            reason="may not record disclosures",
            hide=False,
        )
    case = None
    if case_number:
        case = next((c for c in allowed if c.number == case_number), None)
        if case is None:
            raise ValidationFailed("Choose one of this person's cases.", field="case_number")
    who = (recipient or "").strip()
    why = (interest or "").strip()
    if not who or len(who) > TEXT_MAX:
        raise ValidationFailed("Name the recipient (at most 2,000 characters).", field="recipient")
    if not why or len(why) > TEXT_MAX:
        raise ValidationFailed(
            "State the legitimate interest or legal basis (at most 2,000 characters).",
            field="interest",
        )
    if disclosed_at > ctx.now:
        raise ValidationFailed("A disclosure cannot be in the future.", field="disclosed_on")
    return stage_disclosure(
        ctx,
        person_id=person.id,
        case=case,
        basis=basis,
        recipient=who,
        interest=why,
        disclosed_at=disclosed_at,
    )


def stage_disclosure(
    ctx: ServiceContext,
    *,
    person_id: int,
    case: Case | None,
    basis: DisclosureBasis,
    recipient: str,
    interest: str,
    disclosed_at: datetime | None = None,
    threat: str | None = None,
    parties: str | None = None,
    emergency_grant_id: int | None = None,
) -> Staged[None]:
    """Stage one entry of a person's record of disclosures, for a use case that discloses.

    The caller has decided that the actor may disclose and has checked the texts; this is
    the one place a disclosure row is made, so every path records it the same way.
    """
    actor = ctx.actor
    row = Disclosure(
        person_id=person_id,
        case_id=case.id if case else None,
        disclosed_at=disclosed_at or ctx.now,
        basis=basis,
        recipient=recipient,
        interest=interest,
        threat=threat,
        parties=parties,
        emergency_grant_id=emergency_grant_id,
        recorded_by=actor.user_id if actor else None,
        is_emergency=basis is DisclosureBasis.HEALTH_SAFETY_EMERGENCY,
    )
    ctx.db.add(row)
    ctx.db.flush()
    return staged(
        None,
        AuditEvent(
            AuditAction.PERSON_DISCLOSURE_RECORDED,
            object_type="disclosure",
            object_id=row.id,
            case_id=case.id if case else None,
            school_id=case.school_id if case else None,
            purpose=basis.value,
        ),
    )


def list_disclosures(ctx: ServiceContext) -> list[dto.DisclosureView]:
    """Every disclosure the actor may review, newest first (auditors: the whole district)."""
    access = access_for(ctx)
    if not policy.allowed(access, Act.VIEW_DISCLOSURES, None):
        refuse(ctx, object_type="disclosures", object_id="all", reason="role", hide=False)
    rows = repository.all_disclosures(ctx.db, access)
    ctx.record(
        AuditAction.PERSON_DISCLOSURES_VIEWED,
        object_type="disclosures",
        purpose=f"{len(rows)} shown",
    )
    return disclosure_views(ctx, rows)
