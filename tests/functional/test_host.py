"""The Host header is the client's say-so: production serves the configured name only
(``BTAM_SERVER_NAME``), refuses any other with 400, and builds redirects and absolute links
from the configured name, never from what a request claims."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, url_for

from tests.functional.test_headers import HTTP, HTTPS, assert_hardened, production_app

EVIL = "evil.example"


@pytest.fixture
def production(overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    application = production_app(overrides, monkeypatch)
    yield application
    application.extensions["btam"].stores.dispose()


@pytest.mark.parametrize("base", [f"http://{EVIL}", f"https://{EVIL}"])
@pytest.mark.parametrize("path", ["/login", "/dashboard", "/tip", "/healthz", "/no/such/page"])
def test_a_foreign_host_is_refused_with_400_and_never_reflected(
    production: Flask, base: str, path: str
) -> None:
    response = production.test_client().get(path, base_url=base)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert EVIL not in response.get_data(as_text=True)
    assert_hardened(response)


def test_a_foreign_host_cannot_post_either(production: Flask) -> None:
    response = production.test_client().post("/tip", data={"what": "x"}, base_url=f"http://{EVIL}")
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_the_https_redirect_goes_to_the_configured_host_only(production: Flask) -> None:
    """The configured name with another port is the same site: the redirect drops the port
    the client named and goes to the configured origin."""
    client = production.test_client()
    response = client.get("/login?next=/cases/", base_url="http://btam.example.org:8080")
    assert response.status_code == 301
    assert response.headers["Location"] == f"{HTTPS}/login?next=/cases/"


def test_a_forwarded_host_from_a_trusted_proxy_is_not_believed(
    overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxied = production_app(overrides, monkeypatch, BTAM_HTTP_PROXY_HOPS="1")
    try:
        response = proxied.test_client().get(
            "/login", base_url=HTTP, headers={"X-Forwarded-Host": EVIL}
        )
        assert response.status_code == 301
        assert response.headers["Location"] == f"{HTTPS}/login"
    finally:
        proxied.extensions["btam"].stores.dispose()


def test_absolute_urls_are_built_from_the_configured_origin(production: Flask) -> None:
    with production.app_context():
        assert url_for("tips.tip", _external=True) == f"{HTTPS}/tip"
    with production.test_request_context("/login", base_url=HTTPS):
        assert url_for("auth.login", _external=True) == f"{HTTPS}/login"


def test_the_configured_host_is_served(production: Flask) -> None:
    assert production.test_client().get("/login", base_url=HTTPS).status_code == 200
