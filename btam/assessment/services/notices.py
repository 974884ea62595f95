"""Notices a determination or a fact makes due, recorded when given: the report to the
superintendent or designee, each attempt to reach the parents, and a report of an offence
to law enforcement or child protective services."""

from __future__ import annotations

from datetime import datetime

from btam.assessment import repository
from btam.assessment.models import Notice
from btam.assessment.services.common import assessing
from btam.assessment.terms import DeterminationStatus, Method, NoticeKind, Offence
from btam.audit.actions import AuditAction
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.text import clean_text

RECIPIENT_MAX = 500
NOTE_MAX = 2_000
LIVE = frozenset({DeterminationStatus.PENDING, DeterminationStatus.CONFIRMED})


def record_notice(
    ctx: ServiceContext,
    number: str,
    *,
    kind: NoticeKind,
    recipient: str,
    given_at: datetime,
    method: Method,
    reached: bool | None = None,
    note: str = "",
    offence: Offence | None = None,
) -> Staged[int]:
    """Record a notice given (whom, when, how, and for parents whether they were reached).

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    :raises ValidationFailed: no recipient, a time in the future, an attempt to reach the
        parents without saying whether it did, an offence on a notice that reports none.
    """
    loaded = assessing(ctx, number)
    case = loaded.case
    whom = clean_text(recipient, field="recipient", limit=RECIPIENT_MAX, required=True)
    if given_at > ctx.now:
        raise ValidationFailed("A notice cannot be given in the future.", field="given_at")
    if kind is NoticeKind.PARENT and reached is None:
        raise ValidationFailed("Say whether the parents were reached.", field="reached")
    if kind is not NoticeKind.PARENT:
        reached = None
    authorities = {NoticeKind.LAW_ENFORCEMENT, NoticeKind.CHILD_PROTECTIVE_SERVICES}
    if offence is not None and kind not in authorities:
        raise ValidationFailed("Only a report to an authority names an offence.", field="offence")
    live = [d for d in repository.determinations(ctx.db, case.id) if d.status in LIVE]
    row = Notice(
        case_id=case.id,
        kind=kind,
        determination_id=live[0].id if live else None,
        offence=offence,
        recipient=whom,
        given_at=given_at,
        method=method,
        reached=reached,
        note=clean_text(note, field="note", limit=NOTE_MAX),
        recorded_by=loaded.access.actor.user_id,
        recorded_at=ctx.now,
    )
    ctx.db.add(row)
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.CASE_NOTICE_RECORDED,
            object_type="notice",
            object_id=row.id,
            purpose=kind.value + (f", {offence.value}" if offence else ""),
        ),
    )
