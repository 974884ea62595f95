"""The one adapter between Flask and the domain: runtime, current actor, audit and service context.

Views get everything they hand to services from here, so no service ever reads Flask globals.
"""

from __future__ import annotations

import secrets
from typing import cast
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from btam.audit.context import AuditContext
from btam.errors import ValidationFailed
from btam.runtime import Runtime
from btam.security.actor import Actor
from btam.services import ServiceContext

# Endpoints reachable without signing in; everything else is refused by default.
PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "health.healthz",
        "auth.login",
        "auth.second_factor",
        "auth.enrol",
        "auth.finish",
        "tips.tip",
        "tips.follow_up",
    }
)
# Reachable while a password change is forced, so the user can do it or leave.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"account.password", "auth.logout", "static"})


def runtime() -> Runtime:
    return cast(Runtime, current_app.extensions["btam"])


def case_db() -> Session:
    """The request's case-store session, opened on first use and closed at teardown."""
    if "case_db" not in g:
        g.case_db = runtime().stores.case_sessions()
    return cast(Session, g.case_db)


def current_actor() -> Actor | None:
    """The signed-in actor, or None for a visitor."""
    user = current_user
    if user is None or not user.is_authenticated:
        return None
    return cast(Actor, user._get_current_object())


def client_address() -> str | None:
    # remote_addr is the peer, or what ProxyFix took from the trusted hops only.
    return request.remote_addr


def audit_context(actor: Actor | None = None, *, user_id: int | None = None) -> AuditContext:
    """The audit context of this request, for the actor or a user not yet signed in."""
    return AuditContext(
        actor_id=actor.user_id if actor else user_id,
        actor_role=str(actor.role) if actor else "anonymous",
        request_id=g.get("request_id"),
        client_address=client_address(),
    )


def service_context(actor: Actor | None = None, *, user_id: int | None = None) -> ServiceContext:
    """Everything a service needs for this request; the actor is always passed explicitly."""
    return runtime().context(case_db(), audit_context(actor, user_id=user_id), actor)


def loaded_actor() -> Actor | None:
    """The actor if this request has already loaded it; never touches the database.

    Error pages use this, so a broken store cannot fail the page that reports it.
    """
    user = g.get("_login_user")
    return user if isinstance(user, Actor) else None


def form_error(form: object, exc: ValidationFailed) -> None:
    """Put a service's refusal beside the field it names, or at the top of the page."""
    field = getattr(form, exc.field or "", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)]
    else:
        flash(str(exc), "error")


def file_download(data: bytes, *, content_type: str, filename: str) -> Response:
    """A stored file as a download: never rendered in the app's origin, an ASCII-safe name."""
    response = Response(data, mimetype=content_type)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[:100]
    response.headers["Content-Disposition"] = f'attachment; filename="{safe or "file"}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def is_post() -> bool:
    return request.method == "POST"


def safe_next(target: str | None) -> str | None:
    """Keep a post-sign-in destination only when it is a path on this site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def _before_request() -> ResponseReturnValue | None:
    g.request_id = secrets.token_hex(8)
    endpoint = request.endpoint
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    actor = current_actor()
    if actor is None:
        if g.get("session_end_reason") in {"idle_timeout", "absolute_timeout"}:
            flash("Your session has ended. Sign in again to continue.", "info")
        if request.method in {"GET", "HEAD"} and endpoint is not None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return redirect(url_for("auth.login"))
    if actor.must_change_password and endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return redirect(url_for("account.password"))
    return None


def _teardown(_exc: BaseException | None) -> None:
    db = g.pop("case_db", None)
    if db is not None:
        db.close()


def init_app(app: Flask) -> None:
    """Install default deny and the request's database session."""
    app.before_request(_before_request)
    app.teardown_appcontext(_teardown)
