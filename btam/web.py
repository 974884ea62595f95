"""The one adapter between Flask and the domain: runtime, current actor, audit and service context.

Views get everything they hand to services from here, so no service ever reads Flask globals.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import TypeVar, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException

from btam import housekeeping
from btam.access.actor import Actor
from btam.accounts.services import organisation
from btam.audit.context import AuditContext
from btam.context import ServiceContext, Staged, carry_out
from btam.db import utcnow
from btam.errors import ReauthenticationRequired, ValidationFailed
from btam.files import ATTACHMENT_MAX_BYTES, Upload
from btam.forms import note_refused
from btam.runtime import Runtime

T = TypeVar("T")
log = logging.getLogger(__name__)

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


# Requests that may change something: their transactions take SQLite's write lock at BEGIN.
WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def case_db() -> Session:
    """The request's case-store session, opened on first use and closed at teardown.

    A POST's session begins its transactions for writing, so that concurrent writers wait
    for each other instead of failing (see ``btam.db.writing``).
    """
    if "case_db" not in g:
        stores = runtime().stores
        writes = request.method in WRITING_METHODS
        g.case_db = (stores.case_write_sessions if writes else stores.case_sessions)()
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


def submit(
    ctx: ServiceContext,
    form: FlaskForm,
    use_case: Callable[[], Staged[T]],
    *,
    then: Callable[[T], ResponseReturnValue],
    done: str | None = None,
) -> ResponseReturnValue | None:
    """Validate ``form``, run the use case and commit it once; the answer when it succeeded.

    A refusal by the service (``ValidationFailed``) rolls back whatever the use case staged
    and is put beside the field it names (or flashed); ``None`` then means: show the form
    again, with its errors, and answer 400.
    """
    if not form.validate_on_submit():
        return None
    try:
        value = carry_out(ctx, use_case())
    except ValidationFailed as exc:
        ctx.db.rollback()
        form_error(form, exc)
        return None
    if done:
        flash(done, "success")
    return then(value)


def press(
    ctx: ServiceContext, use_case: Callable[[], Staged[T]], *, done: str, to: str
) -> ResponseReturnValue:
    """A button that changes one thing (its CSRF token is checked before the view runs):
    run the use case, commit it once, flash what happened or why not, and go to ``to``."""
    try:
        carry_out(ctx, use_case())
    except ValidationFailed as exc:
        ctx.db.rollback()
        flash(str(exc), "error")
    else:
        flash(done, "success")
    return redirect(to)


def form_error(form: FlaskForm, exc: ValidationFailed) -> None:
    """Put a service's refusal beside the field it names, or at the top of the page."""
    field = getattr(form, exc.field or "", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)]
        note_refused(form)
    else:
        flash(str(exc), "error")


def upload_of(field: object) -> Upload | None:
    """The uploaded file of a FileField, read up to one byte over the limit."""
    storage = getattr(field, "data", None)
    if not isinstance(storage, FileStorage) or not storage.filename:
        return None
    return Upload(
        filename=storage.filename or "",
        content_type=(storage.mimetype or "").lower(),
        data=storage.read(ATTACHMENT_MAX_BYTES + 1),
    )


def file_download(data: bytes, *, content_type: str, filename: str) -> Response:
    """A stored file as a download: never rendered in the app's origin, an ASCII-safe name."""
    response = Response(data, mimetype=content_type)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[:100]
    response.headers["Content-Disposition"] = f'attachment; filename="{safe or "file"}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def district_zone() -> ZoneInfo:
    """The district's time zone, read once per request."""
    if "district_zone" not in g:
        g.district_zone = organisation.district_zone(service_context())
    zone: ZoneInfo = g.district_zone
    return zone


def local_time(moment: datetime, *, seconds: bool = False) -> str:
    """A stored UTC moment as people read it: in the district's zone, the zone named."""
    shown = moment.astimezone(district_zone())
    return f"{shown:%Y-%m-%d %H:%M:%S %Z}" if seconds else f"{shown:%Y-%m-%d %H:%M %Z}"


def local_day(moment: datetime) -> str:
    """The district's calendar day of a stored UTC moment."""
    return f"{moment.astimezone(district_zone()):%Y-%m-%d}"


def typed_moment(day: date, at: time | None, now: datetime) -> datetime:
    """A date and an optional time typed in the district's zone, as a UTC moment (no time
    given: now when the day is today there, else noon of that day)."""
    zone = district_zone()
    if at is None:
        if day == now.astimezone(zone).date():
            return now
        at = time(12)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


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


def return_path() -> str:
    """The page to come back to after a detour: this one, or for a button (a URL that takes
    only POST) the page it sits on."""
    path = request.path
    adapter = current_app.create_url_adapter(request)
    try:
        if adapter is not None:
            adapter.match(path, method="GET")
            return path
    except HTTPException:
        pass
    return path.rsplit("/", 1)[0] or "/"


def ask_for_password() -> ResponseReturnValue:
    """Send the actor to confirm their password, then back to the page they were on."""
    flash("Enter your password again to make this change.", "info")
    return redirect(url_for("account.reauthenticate", next=return_path()))


def _reauthentication_required(_exc: ReauthenticationRequired) -> ResponseReturnValue:
    # A service refused a change the page should have asked the password for first.
    return ask_for_password()


def assign_request_id() -> None:
    """Give the request its id (audit entries and the access log know a request by it)."""
    g.request_id = secrets.token_hex(8)


def tag_response(response: Response) -> Response:
    """Name the request's id on its answer: the access log writes it instead of an address."""
    request_id = g.get("request_id")
    if request_id:
        response.headers["X-Request-Id"] = request_id
    return response


def _before_request() -> ResponseReturnValue | None:
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


def end_request_session(*, rollback: bool = False) -> None:
    """Close the request's case-store session (rolled back first if asked); a later
    ``case_db()`` in the same request opens a fresh one."""
    db = g.pop("case_db", None)
    if db is None:
        return
    try:
        if rollback:
            db.rollback()
    finally:
        db.close()


def _teardown(_exc: BaseException | None) -> None:
    end_request_session()


def _housekeeping(response: Response) -> Response:
    # After a failure the store may be what failed: the next request prunes instead.
    pruner = current_app.extensions["btam.pruner"]
    if response.status_code >= 500 or not pruner.due():
        return response
    try:
        housekeeping.prune_if_due(runtime().stores.case_write_sessions, now=utcnow())
    except Exception as exc:  # the answer is ready; pruning waits for the next turn
        log.warning("pruning failed: %s", type(exc).__name__)
    return response


def init_app(app: Flask) -> None:
    """Install default deny, the request's database session and the pruning timer."""
    app.extensions["btam.pruner"] = housekeeping.Pruner()
    app.before_request(_before_request)
    app.after_request(_housekeeping)
    app.teardown_appcontext(_teardown)
    app.register_error_handler(ReauthenticationRequired, _reauthentication_required)
