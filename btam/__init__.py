"""BTAM: case management for school behavioral threat assessment and management teams."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, g, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter, ValidationError

from btam.ids import parse_id
from btam.settings import ConfigError, load_settings

__all__ = ["ConfigError", "create_app"]

# One megabyte is far above any form of the skeleton; attachments get their own limit.
MAX_REQUEST_BYTES = 1024 * 1024
# Endpoints that take a file: the body may be as large as the file limit allows.
UPLOAD_ENDPOINTS = frozenset({"cases.add_attachment", "intake.new", "tips.tip"})
MAX_UPLOAD_REQUEST_BYTES = 11 * 1024 * 1024


class RecordIdConverter(BaseConverter):
    """``<int:...>``: a record id as :func:`btam.ids.parse_id` reads it, else no such page.

    Werkzeug's own converter matches ``\\d``, which takes any Unicode decimal digit (fullwidth,
    Arabic-Indic...) and turns it into an id; here only ASCII digits within a column's range.
    """

    regex = r"[0-9]+"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        found = parse_id(value)
        if found is None:
            raise ValidationError
        return found

    def to_url(self, value: Any) -> str:
        return str(int(value))


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from ``BTAM_CONFIG``'s settings; refuse to start when a secret is missing.

    :raises ConfigError: with a one-line reason when the configuration cannot be used.
    """
    from btam import error_pages, health, web
    from btam.access.permissions import Permission, role_has
    from btam.accounts import signin
    from btam.accounts.views import account, admin
    from btam.accounts.views import signin as signin_views
    from btam.assessment import views as assessment_views
    from btam.audit import views as audit_views
    from btam.cases import views as case_views
    from btam.forms import refused_fields
    from btam.intake.views import reports, tips, triage
    from btam.meetings import views as meeting_views
    from btam.people import views as people_views
    from btam.plans import referral_views
    from btam.plans import views as plan_views
    from btam.reports import views as main_views
    from btam.runtime import build_runtime
    from btam.security import headers

    settings = load_settings(overrides=overrides)
    if not settings.secret_key:
        raise ConfigError("no secret key: run `btam init` first, or set BTAM_SECRET_KEY")

    app = Flask(__name__, instance_path=str(settings.instance))
    # First of all, so that every answer, a refusal too, carries the request's id.
    app.before_request(web.assign_request_id)
    app.after_request(web.tag_response)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # The __Host- prefix pins the cookie to this host over HTTPS, path /, no Domain.
        SESSION_COOKIE_NAME="__Host-btam" if settings.session_secure_cookie else "btam",
        SESSION_COOKIE_SECURE=settings.session_secure_cookie,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_absolute_hours),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        # Our Referrer-Policy is no-referrer, so Flask-WTF's HTTPS Referer check would refuse
        # every form; the token and SameSite cookies carry the CSRF defence.
        WTF_CSRF_SSL_STRICT=False,
        WTF_CSRF_TIME_LIMIT=3600,
        TESTING=settings.is_testing,
    )
    if settings.server_name:
        # Requests for any other Host are refused (400) before anything reads the Host, and
        # URLs outside a request, and absolute ones, are built from this name only.
        app.config.update(
            SERVER_NAME=settings.server_name,
            TRUSTED_HOSTS=[settings.server_name.rsplit(":", 1)[0]],
            PREFERRED_URL_SCHEME="https" if settings.http_force_https else "http",
        )

        @app.before_request
        def _known_host() -> None:
            if isinstance(request.routing_exception, SecurityError):
                raise request.routing_exception

    if settings.http_proxy_hops:
        hops = settings.http_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    # Every id in a URL fits a 32-bit column: a larger number is a 404, never a database error.
    app.url_map.converters["int"] = RecordIdConverter

    rt = build_runtime(settings)
    app.extensions["btam"] = rt

    headers.init_app(app, settings)

    @app.before_request
    def _upload_limit() -> None:
        # Before CSRFProtect, whose token check is the first to read the body.
        if request.endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = MAX_UPLOAD_REQUEST_BYTES

    csrf = CSRFProtect(app)
    login_manager = LoginManager(app)
    # Sessions are checked on the server on every request; IP/user-agent pinning would only
    # sign out people whose school network changes addresses.
    login_manager.session_protection = None

    @login_manager.user_loader
    def _load(token: str) -> Any:
        actor, ended = signin.resume(web.service_context(), token=token)
        g.session_end_reason = ended
        return actor

    web.init_app(app)
    # Every time people read: in the district's time zone, with the zone shown.
    app.add_template_filter(web.local_time, "when")
    app.add_template_filter(web.local_day, "day")
    error_pages.init_app(app)
    for module in (
        signin_views,
        account,
        admin,
        audit_views,
        case_views,
        assessment_views,
        meeting_views,
        referral_views,
        plan_views,
        people_views,
        reports,
        triage,
        tips,
        main_views,
        health,
    ):
        app.register_blueprint(module.bp)
    # The anonymous tip line sets no cookie, so its forms carry no CSRF token (intake/views/tips).
    csrf.exempt(tips.bp)  # nosemgrep: btam-csrf-exempt

    def _alerts(actor: Any) -> list[tuple[int, str, Any]]:
        # Every team page shows an unacknowledged imminent danger until someone takes it; an
        # error page reads no store (the store may be what just failed).
        if actor is None or not role_has(actor.role, Permission.TRIAGE_WORK):
            return []
        if g.get("error_page"):
            return []
        from sqlalchemy.exc import SQLAlchemyError

        from btam.audit.writer import AuditUnavailable
        from btam.intake.services import triage as triage_services

        try:
            return triage_services.imminent_alerts(web.service_context(actor))
        except (SQLAlchemyError, AuditUnavailable):
            # An error page (the 503 of a store that is down) must still render.
            return []

    @app.context_processor
    def _layout() -> dict[str, Any]:
        actor = web.loaded_actor()
        return {
            "current_actor": actor,
            "nav": {
                "admin": bool(actor and role_has(actor.role, Permission.ADMIN_USERS_MANAGE)),
                "audit": bool(actor and role_has(actor.role, Permission.AUDIT_TRAIL_READ)),
                "cases": bool(actor and role_has(actor.role, Permission.CASES_VIEW)),
                "triage": bool(actor and role_has(actor.role, Permission.TRIAGE_WORK)),
                "people": bool(actor and role_has(actor.role, Permission.PEOPLE_SEARCH)),
                "meetings": bool(actor and role_has(actor.role, Permission.MEETINGS_VIEW)),
                "disclosures": bool(actor and role_has(actor.role, Permission.DISCLOSURES_REVIEW)),
            },
            "idle_minutes": settings.session_idle_minutes,
            "imminent_alerts": _alerts(actor),
            "refused_fields": refused_fields,
        }

    return app
