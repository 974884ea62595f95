"""The error pages: what happened, in words, and no internals (no trace, no SQL, no value)."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from btam.errors import AccessDenied, NotFound, StoreUnavailable

log = logging.getLogger(__name__)


PAGES: dict[int, tuple[str, str]] = {
    400: ("Request not understood", "The request could not be processed. Go back and try again."),
    401: ("Sign-in needed", "Sign in to continue."),
    403: ("Not allowed", "Your role does not give access to this page."),
    404: ("Not found", "There is no such page, or it is not available to you."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too large", "What you sent is larger than the system accepts."),
    429: (
        "Too many attempts",
        "There have been too many attempts. Wait 15 minutes, then try again.",
    ),
    500: (
        "Something went wrong",
        "The system could not complete the request. Nothing was changed. "
        "If it happens again, tell your district's administrator.",
    ),
    503: (
        "Temporarily unavailable",
        "The system cannot record this action right now, so it was not carried out and "
        "nothing was changed. Try again in a few minutes.",
    ),
}


def render_error(code: int, message: str | None = None) -> tuple[str, int]:
    """Render the error page of ``code``; the layout reads no session and no database."""
    title, default_message = PAGES.get(code, PAGES[500])
    html = render_template(
        "errors/error.html", code=code, title=title, message=message or default_message
    )
    return html, code


def init_app(app: Flask) -> None:
    """Register the error pages."""
    from btam.audit.writer import AuditUnavailable

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            "The form had expired or did not come from this site. Go back, reload the page "
            "and submit it again.",
        )

    @app.errorhandler(AuditUnavailable)
    def _audit_down(_exc: AuditUnavailable) -> tuple[str, int]:
        log.error("audit store unavailable: action refused")
        return render_error(503)

    @app.errorhandler(StoreUnavailable)
    def _store_down(_exc: StoreUnavailable) -> tuple[str, int]:
        log.error("case store unavailable: a sign-in attempt could not be counted, refused")
        return render_error(503)

    @app.errorhandler(NotFound)
    def _not_found(_exc: NotFound) -> tuple[str, int]:
        return render_error(404)

    @app.errorhandler(AccessDenied)
    def _denied(_exc: AccessDenied) -> tuple[str, int]:
        return render_error(403)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
        html, code = render_error(exc.code or 500)
        # A 405 must say which methods the page takes (RFC 9110).
        allow = [(k, v) for k, v in exc.get_headers() if k.lower() == "allow"]
        return html, code, allow

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[str, int]:
        # Type and frames only: messages (SQL parameters, for one) may carry a record's values.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("unhandled %s\n%s", type(exc).__name__, frames)
        return render_error(500)
