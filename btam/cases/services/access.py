"""What every case service does first: who is acting, and the audited refusal."""

from __future__ import annotations

import re
from typing import NoReturn

from btam.audit.actions import AuditAction, Outcome
from btam.audit.models import OBJECT_ID_MAX, PURPOSE_MAX
from btam.cases import repository
from btam.errors import AccessDenied, NotFound, ValidationFailed
from btam.security.actor import Actor
from btam.security.policy import Access
from btam.services import ServiceContext

_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{OBJECT_ID_MAX}}}")


def actor_of(ctx: ServiceContext) -> Actor:
    if ctx.actor is None:
        raise AccessDenied("not signed in")
    return ctx.actor


def access_for(ctx: ServiceContext) -> Access:
    """The actor with the cases its active emergency grants open."""
    actor = actor_of(ctx)
    return Access(actor, repository.active_grants(ctx.db, actor.user_id, ctx.now))


def _loggable_id(value: str | int) -> str:
    # What was typed into a URL or form may be anything; the trail keeps only a real id.
    text = str(value)
    return text if _ID.fullmatch(text) else "malformed"


def refuse(
    ctx: ServiceContext,
    *,
    object_type: str,
    object_id: str | int,
    reason: str,
    case_id: int | None = None,
    school_id: int | None = None,
    hide: bool = True,
) -> NoReturn:
    """Record the refusal, then answer 404 (``hide``: the record's existence is not told) or 403.

    The reason names the rule, never content; the object id is what the actor asked for.
    """
    ctx.record(
        AuditAction.ACCESS_RECORD_DENIED,
        outcome=Outcome.DENIED,
        object_type=object_type,
        object_id=_loggable_id(object_id),
        case_id=case_id,
        school_id=school_id,
        purpose=reason[:PURPOSE_MAX],
    )
    if hide:
        raise NotFound(object_type)
    raise AccessDenied(reason)


def clean_text(value: str | None, *, field: str, limit: int, required: bool = False) -> str | None:
    """The typed text without surrounding space, or None when empty.

    :raises ValidationFailed: empty but required, or longer than ``limit``.
    """
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed("This field is required.", field=field)
        return None
    if len(text) > limit:
        raise ValidationFailed(f"At most {limit:,} characters.", field=field)
    return text
