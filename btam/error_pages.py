"""The error pages: what happened, in words, and no internals (no trace, no SQL, no value).

An error page must not depend on what may have just failed: it rolls back and drops the
request's case-store session first, reads nothing from either store (no current user, no
alerts), and falls back to a page built without a template when even rendering fails. Errors
are logged by type and frames (file, line, function) only: an exception's message, and the
source lines of its frames, may hold SQL text, its parameters or a record's values.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from types import TracebackType

from flask import Flask, g, render_template
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from btam import web
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


# What is served when even the error template cannot be rendered.
BARE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · BTAM</title></head>
<body><main><h1>{title}</h1><p>{message}</p><p>Error {code}</p><p><a href="/">Go to the start page</a></p></main></body>
</html>
"""  # noqa: E501


def render_error(code: int, message: str | None = None) -> tuple[str, int]:
    """Render the error page of ``code``; it reads no session and no database."""
    title, default_message = PAGES.get(code, PAGES[500])
    text = message or default_message
    # The layout's context leaves out everything read from a store (see create_app).
    g.error_page = True
    try:
        html = render_template("errors/error.html", code=code, title=title, message=text)
    except Exception as exc:
        log_failure("error page could not be rendered", exc)
        html = BARE_PAGE.format(title=escape(title), message=escape(text), code=code)
    return html, code


def describe(exc: BaseException) -> str:
    """An exception as the log may hold it: its type and those it was raised from, and its
    frames as file, line and function, never a message or a source line."""
    types: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(types) < 5:
        types.append(type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    return f"{' from '.join(types)} at {_frames(exc.__traceback__)}"


def _frames(tb: TracebackType | None) -> str:
    return " > ".join(
        f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(tb)
    )


def log_failure(what: str, exc: BaseException) -> None:
    """Log a failure by its type and frames only."""
    log.error("%s: %s", what, describe(exc))


def _start_clean() -> None:
    # The request's case-store session may be the broken one: roll it back and drop it, so
    # that nothing after this (the page, the teardown) uses it again.
    try:
        web.end_request_session(rollback=True)
    except Exception as exc:
        log_failure("the request's session could not be rolled back", exc)


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
        _start_clean()
        return render_error(503)

    @app.errorhandler(StoreUnavailable)
    def _store_down(_exc: StoreUnavailable) -> tuple[str, int]:
        log.error("case store unavailable: a sign-in attempt could not be counted, refused")
        _start_clean()
        return render_error(503)

    @app.errorhandler(NotFound)
    def _not_found(_exc: NotFound) -> tuple[str, int]:
        return render_error(404)

    @app.errorhandler(AccessDenied)
    def _denied(_exc: AccessDenied) -> tuple[str, int]:
        return render_error(403)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
        if (exc.code or 500) >= 500:
            _start_clean()
        html, code = render_error(exc.code or 500)
        # A 405 must say which methods the page takes (RFC 9110).
        allow = [(k, v) for k, v in exc.get_headers() if k.lower() == "allow"]
        return html, code, allow

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[str, int]:
        log_failure("unhandled", exc)
        _start_clean()
        return render_error(500)

    def _log_exception(exc_info: object) -> None:
        # Flask's own log of an error its handlers could not answer holds the message.
        exc = exc_info[1] if isinstance(exc_info, tuple) else None
        if isinstance(exc, BaseException):
            log_failure("unhandled", exc)

    app.log_exception = _log_exception  # type: ignore[method-assign]
