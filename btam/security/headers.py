"""Response headers: a strict Content Security Policy, HSTS, and no caching of records."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, redirect, request
from flask.typing import ResponseReturnValue
from flask_talisman import Talisman

from btam.settings import Settings

# Scripts and styles come only from our own files: no inline code, no eval, no plugins.
CSP = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}

PERMISSIONS_POLICY = {
    "camera": "()",
    "microphone": "()",
    "geolocation": "()",
    "payment": "()",
    "usb": "()",
    "interest-cohort": "()",
}

YEAR = 365 * 24 * 3600


def init_app(app: Flask, settings: Settings) -> None:
    """Install the security headers on every response, errors included."""
    Talisman(
        app,
        # Talisman would trust X-Forwarded-Proto from anyone; our redirect below asks
        # request.is_secure, which believes that header only from the configured proxies.
        force_https=False,
        strict_transport_security=settings.http_force_https,
        strict_transport_security_max_age=YEAR,
        strict_transport_security_include_subdomains=True,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="no-referrer",
        permissions_policy=PERMISSIONS_POLICY,
        session_cookie_secure=settings.session_secure_cookie,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
    )

    if settings.http_force_https:

        @app.before_request
        def _https_only() -> ResponseReturnValue | None:
            if request.is_secure:
                return None
            # To the configured host, never to whatever Host the request named.
            parts = urlsplit(request.url)
            target = urlunsplit(("https", settings.server_name or parts.netloc, *parts[2:]))
            # 308 keeps the method and body of a form post; GETs may be remembered.
            return redirect(target, code=301 if request.method in {"GET", "HEAD"} else 308)

    @app.after_request
    def _more_headers(response: Response) -> Response:
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.endpoint != "static":
            # Pages hold records about children: never in a shared or back-button cache.
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response
