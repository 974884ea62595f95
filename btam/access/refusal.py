"""The audited refusal every service answers with, and the actor a service acts for."""

from __future__ import annotations

import re
from typing import NoReturn

from btam.access.actor import Actor
from btam.access.permissions import Permission, role_has
from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import SYSTEM_ROLE
from btam.audit.events import OBJECT_ID_MAX, PURPOSE_MAX
from btam.context import ServiceContext
from btam.errors import AccessDenied, NotFound

_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{OBJECT_ID_MAX}}}")


def actor_of(ctx: ServiceContext) -> Actor:
    if ctx.actor is None:
        raise AccessDenied("not signed in")
    return ctx.actor


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


def require_permission(ctx: ServiceContext, *permissions: Permission) -> None:
    """Refuse (recorded, 403) an actor whose role has none of ``permissions``.

    Services check again what the route's decorator checked, because the command line and
    tests call them without one; the command line acts for the operator (the system actor).

    :raises AccessDenied: the role lacks every one of ``permissions``, or nobody acts.
    """
    if ctx.actor is None:
        if ctx.audit_ctx.actor_role == SYSTEM_ROLE:
            return
        raise AccessDenied("not signed in")
    if not any(role_has(ctx.actor.role, p) for p in permissions):
        refuse(
            ctx,
            object_type="service",
            object_id=permissions[0].value.replace(":", "."),
            reason=f"the {ctx.actor.role.label} role lacks {permissions[0]}",
            hide=False,
        )
