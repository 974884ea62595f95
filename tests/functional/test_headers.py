"""Security headers on every kind of answer, HSTS and HTTPS in production, error pages bare.

Every status a person or an attacker can provoke — a page, a redirect, each error page and a
crash — carries the same strict headers, and no error page says anything about the internals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import text
from werkzeug.test import TestResponse

from btam import create_app
from tests.support.outage import worker_with
from tests.support.personas import World, build_world
from tests.support.web import Browser, csrf_token, signed_in

REQUIRED_CSP = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# What would let injected markup run or load from elsewhere.
LOOSE_SOURCES = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:")

# What an error page must never show: a trace, exception names, SQL, paths, library names.
INTERNALS = (
    "Traceback",
    'File "',
    ".py",
    "/work/",
    "site-packages",
    "Error:",
    "Exception",
    "OperationalError",
    "ProgrammingError",
    "AuditUnavailable",
    "CSRFError",
    "sqlalchemy",
    "psycopg",
    "sqlite",
    "werkzeug",
    "SELECT ",
    " FROM ",
    "no_such_table",
    "line ",
)


def csp_directives(response: TestResponse) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    assert header, "no Content-Security-Policy"
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def assert_hardened(response: TestResponse, *, cacheable: bool = False) -> None:
    """The headers every answer of the app carries."""
    directives = csp_directives(response)
    for name, value in REQUIRED_CSP.items():
        assert value in directives.get(name, []), (name, directives.get(name))
    for name, values in directives.items():
        for loose in LOOSE_SOURCES:
            assert loose not in values, (name, values)
    assert directives["script-src"] == ["'self'"] or all(
        v == "'self'" or v.startswith("'nonce-") for v in directives["script-src"]
    )
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("Referrer-Policy") == "no-referrer"
    permissions = response.headers.get("Permissions-Policy", "")
    assert "camera=()" in permissions and "microphone=()" in permissions
    assert "geolocation=()" in permissions
    assert response.headers.get("Cross-Origin-Opener-Policy") == "same-origin"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    cache_control = response.headers.get("Cache-Control", "")
    if cacheable:
        assert "no-store" not in cache_control
    else:
        assert "no-store" in cache_control, cache_control


def assert_shows_no_internals(response: TestResponse) -> None:
    page = response.get_data(as_text=True)
    for leak in INTERNALS:
        assert leak not in page, (response.status_code, leak)


def _raise_a_database_error() -> str:
    """A view that fails the way a real bug would: SQL against a table that is not there."""
    from btam import web

    web.case_db().execute(
        text("SELECT password_hash FROM no_such_table WHERE path = '/etc/passwd'")
    )
    return "unreachable"


@pytest.fixture
def crash_app(overrides: dict[str, object]) -> Iterator[Flask]:
    """The app with one more route that crashes, added before its first request."""
    application = create_app(overrides)
    application.add_url_rule("/crash-for-test", "crash_for_test", _raise_a_database_error)
    yield application
    application.extensions["btam"].stores.dispose()


@pytest.fixture
def crash_world(crash_app: Flask) -> World:
    return build_world(crash_app)


def _page_of_a_visitor(app: Flask, world: World) -> TestResponse:
    return app.test_client().get("/login")


def _page_of_a_signed_in_user(app: Flask, world: World) -> TestResponse:
    return signed_in(app, world, "lead_ben").get("/dashboard")


def _health(app: Flask, world: World) -> TestResponse:
    return app.test_client().get("/healthz")


def _redirect_to_sign_in(app: Flask, world: World) -> TestResponse:
    return app.test_client().get("/dashboard")


def _forbidden(app: Flask, world: World) -> TestResponse:
    return signed_in(app, world, "teacher_cam").get("/admin/")


def _not_found(app: Flask, world: World) -> TestResponse:
    return signed_in(app, world, "teacher_cam").get("/no/such/page.php")


def _method_not_allowed(app: Flask, world: World) -> TestResponse:
    return signed_in(app, world, "teacher_cam").get("/logout")


def _csrf_refused(app: Flask, world: World) -> TestResponse:
    return app.test_client().post("/login", data={"username": "x", "password": "y" * 20})


def _locked_out(app: Flask, world: World) -> TestResponse:
    browser = Browser(app.test_client())
    for _ in range(5):
        browser.submit("/login", {"username": "member_gus", "password": "not the password!!"})
    return browser.submit("/login", {"username": "member_gus", "password": "not it either!!!"})


def _too_large(app: Flask, world: World) -> TestResponse:
    return app.test_client().post("/login", data={"username": "x" * (2 * 1024 * 1024)})


def _crash(app: Flask, world: World) -> TestResponse:
    return signed_in(app, world, "teacher_cam").get("/crash-for-test")


ANSWERS: dict[str, tuple[int, Callable[[Flask, World], TestResponse]]] = {
    "page of a visitor": (200, _page_of_a_visitor),
    "page of a signed-in user": (200, _page_of_a_signed_in_user),
    "health check": (200, _health),
    "redirect to sign-in": (302, _redirect_to_sign_in),
    "forbidden": (403, _forbidden),
    "not found": (404, _not_found),
    "method not allowed": (405, _method_not_allowed),
    "form without CSRF token": (400, _csrf_refused),
    "locked out": (429, _locked_out),
    "request too large": (413, _too_large),
    "crash": (500, _crash),
}


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_every_answer_carries_the_security_headers(
    crash_app: Flask, crash_world: World, answer: str
) -> None:
    status, produce = ANSWERS[answer]
    response = produce(crash_app, crash_world)
    assert response.status_code == status
    assert_hardened(response)
    if status >= 400:
        assert_shows_no_internals(response)


def test_the_audit_store_outage_page_carries_the_security_headers(
    overrides: dict[str, object], app: Flask, world: World
) -> None:
    with worker_with(overrides, audit=True) as down:
        response = Browser(down.test_client()).submit(
            "/login", {"username": "teacher_cam", "password": world.teacher_cam.password}
        )
        assert response.status_code == 503
        assert "Temporarily unavailable" in response.get_data(as_text=True)
        assert_hardened(response)
        assert_shows_no_internals(response)
        health = down.test_client().get("/healthz")
        assert health.status_code == 503
        assert_hardened(health)


def test_a_crash_page_says_nothing_was_changed_and_shows_no_internals(
    crash_app: Flask, crash_world: World
) -> None:
    response = _crash(crash_app, crash_world)
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page and "Nothing was changed" in page
    assert "password_hash" not in page and "/etc/passwd" not in page
    assert_shows_no_internals(response)


def test_every_error_page_is_the_plain_error_page(crash_app: Flask, crash_world: World) -> None:
    """No error page links a script, embeds a frame or carries inline styles or handlers."""
    for _name, (status, produce) in ANSWERS.items():
        if status < 400:
            continue
        page = produce(crash_app, crash_world).get_data(as_text=True)
        assert f"Error {status}" in page
        assert "<script" not in page and "<iframe" not in page
        assert "style=" not in page and not re.search(r"\son[a-z]+=", page)


def test_static_files_are_cacheable_but_still_hardened(app: Flask) -> None:
    response = app.test_client().get("/static/css/btam.css")
    assert response.status_code == 200
    assert_hardened(response, cacheable=True)


# --- production: HSTS and HTTPS ------------------------------------------------------------


def production_app(
    overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch, **more_env: str
) -> Flask:
    monkeypatch.setenv("BTAM_CONFIG", "production")
    monkeypatch.setenv("BTAM_DATABASE_URL", str(overrides["database_url"]))
    monkeypatch.setenv("BTAM_AUDIT_DATABASE_URL", str(overrides["audit_database_url"]))
    monkeypatch.setenv("BTAM_KEY_FILE", f"{overrides['instance']}/kek.key")
    monkeypatch.setenv("BTAM_AUDIT_SIGNING_KEY_FILE", f"{overrides['instance']}/audit-signing.key")
    monkeypatch.setenv("BTAM_SECRET_KEY", "p" * 48)
    monkeypatch.setenv("BTAM_INSTANCE", str(overrides["instance"]))
    # The test's stores and witness share one temporary disk, on this one host.
    monkeypatch.setenv("BTAM_AUDIT_WITNESS_ALLOW_LOCAL", "true")
    monkeypatch.setenv("BTAM_SQLITE_SINGLE_HOST", "true")
    monkeypatch.setenv("BTAM_SERVER_NAME", "btam.example.org")
    for name, value in more_env.items():
        monkeypatch.setenv(name, value)
    return create_app()


@pytest.fixture
def production(overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    application = production_app(overrides, monkeypatch)
    yield application
    application.extensions["btam"].stores.dispose()


HTTPS = "https://btam.example.org"
HTTP = "http://btam.example.org"


def hsts_max_age(response: TestResponse) -> int:
    header = response.headers.get("Strict-Transport-Security", "")
    match = re.search(r"max-age=(\d+)", header)
    assert match, f"no HSTS max-age in {header!r}"
    return int(match.group(1))


@pytest.mark.parametrize(
    ("path", "status"),
    [("/login", 200), ("/dashboard", 302), ("/healthz", 200), ("/static/css/btam.css", 200)],
)
def test_production_sends_hsts_for_a_year_with_subdomains(
    production: Flask, path: str, status: int
) -> None:
    response = production.test_client().get(path, base_url=HTTPS)
    assert response.status_code == status
    assert hsts_max_age(response) >= 31536000
    assert "includeSubDomains" in response.headers["Strict-Transport-Security"]
    assert_hardened(response, cacheable=path.startswith("/static/"))


def test_production_sends_hsts_on_error_pages(production: Flask) -> None:
    refused = production.test_client().post("/login", data={}, base_url=HTTPS)
    assert refused.status_code == 400
    assert hsts_max_age(refused) >= 31536000


@pytest.mark.parametrize("path", ["/login", "/login?next=/account/", "/healthz", "/dashboard"])
def test_production_redirects_plain_http_to_https(production: Flask, path: str) -> None:
    response = production.test_client().get(path, base_url=HTTP)
    assert response.status_code in {301, 302, 307, 308}
    assert response.headers["Location"] == HTTPS + path


def test_production_refuses_a_plain_http_form_post(production: Flask) -> None:
    """A form sent over plain HTTP is not processed: it is redirected to HTTPS."""
    response = production.test_client().post(
        "/login", data={"username": "x", "password": "y" * 20}, base_url=HTTP
    )
    assert response.status_code in {301, 302, 307, 308}
    assert response.headers["Location"].startswith("https://")


def test_a_client_cannot_skip_the_https_redirect_with_a_forwarded_header(
    production: Flask,
) -> None:
    """With no trusted proxy (BTAM_HTTP_PROXY_HOPS=0), X-Forwarded-Proto is the client's say-so."""
    response = production.test_client().get(
        "/login", base_url=HTTP, headers={"X-Forwarded-Proto": "https"}
    )
    assert response.status_code in {301, 302, 307, 308}
    assert response.headers["Location"].startswith("https://")


def test_behind_one_trusted_proxy_its_forwarded_https_is_honoured(
    overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxied = production_app(overrides, monkeypatch, BTAM_HTTP_PROXY_HOPS="1")
    try:
        response = proxied.test_client().get(
            "/login", base_url=HTTP, headers={"X-Forwarded-Proto": "https"}
        )
        assert response.status_code == 200
        assert hsts_max_age(response) >= 31536000
        plain = proxied.test_client().get("/login", base_url=HTTP)
        assert plain.status_code in {301, 302, 307, 308}
    finally:
        proxied.extensions["btam"].stores.dispose()


def test_production_pages_are_hardened_for_a_signed_in_user(
    world: World, production: Flask
) -> None:
    """The people were made by the testing app on the same stores (fast hashes)."""
    client = production.test_client()
    page = client.get("/login", base_url=HTTPS)
    cam = world.teacher_cam
    client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "username": cam.username,
            "password": cam.password,
        },
        base_url=HTTPS,
    )
    dashboard = client.get("/dashboard", base_url=HTTPS)
    assert dashboard.status_code == 200
    assert_hardened(dashboard)
    assert hsts_max_age(dashboard) >= 31536000
