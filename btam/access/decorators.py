"""``@requires``: the route-level permission check that injects the actor into the view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from flask import abort, request

from btam.access.actor import Actor
from btam.access.permissions import Permission, role_has
from btam.audit.actions import AuditAction, Outcome

P = ParamSpec("P")
R = TypeVar("R")


def requires(
    permission: Permission,
) -> Callable[[Callable[Concatenate[Actor, P], R]], Callable[P, R]]:
    """Let the view run only for a signed-in actor whose role has ``permission``.

    The refusal is audited and answered 403. Which record the actor may see is decided later,
    at fetch time, by the policy.
    """

    def decorate(view: Callable[Concatenate[Actor, P], R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            from btam import web

            actor = web.current_actor()
            if actor is None:
                abort(401)
            if not role_has(actor.role, permission):
                web.service_context(actor).record(
                    AuditAction.ACCESS_ROUTE_DENIED,
                    outcome=Outcome.DENIED,
                    object_type="route",
                    object_id=request.endpoint,
                    purpose=str(permission),
                )
                abort(403)
            return view(actor, *args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorate


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as reachable without signing in (it must also be in PUBLIC_ENDPOINTS)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view
