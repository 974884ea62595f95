"""A test client that behaves like a person at a browser: it reads forms and submits them."""

from __future__ import annotations

import re
from html import unescape

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.personas import World

CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return unescape(match.group(1) or match.group(2))


def signed_in(app: Flask, world: World, who: str) -> Browser:
    """A browser in which persona ``who`` has signed in through the real pages."""
    person = world.people[who]
    browser = Browser(app.test_client())
    response = browser.sign_in(person.username, person.password, totp_secret=person.totp_secret)
    assert response.headers["Location"].endswith("/dashboard"), response.headers
    return browser


class Browser:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, url: str, **kwargs: object) -> TestResponse:
        return self.client.get(url, **kwargs)  # type: ignore[arg-type]

    def submit(
        self,
        page_url: str,
        data: dict[str, object],
        *,
        action: str | None = None,
        follow: bool = False,
    ) -> TestResponse:
        """Open ``page_url``, take its CSRF token and post ``data`` to ``action`` (or the page)."""
        page = self.client.get(page_url)
        assert page.status_code == 200, f"{page_url} answered {page.status_code}"
        payload = {"csrf_token": csrf_token(page.get_data(as_text=True)), **data}
        return self.client.post(action or page_url, data=payload, follow_redirects=follow)

    def post_button(self, page_url: str, action: str, follow: bool = False) -> TestResponse:
        return self.submit(page_url, {}, action=action, follow=follow)

    def sign_in(self, username: str, password: str, *, totp_secret: str | None) -> TestResponse:
        """Sign in through the real pages; returns the last response."""
        response = self.submit("/login", {"username": username, "password": password})
        location = response.headers.get("Location", "")
        if "/login/code" in location:
            assert totp_secret, "this user needs a second factor"
            response = self.submit("/login/code", {"code": next_code(totp_secret)})
        return response

    def sign_out(self) -> TestResponse:
        return self.post_button("/account/", "/logout")


_used: dict[str, int] = {}


def next_code(secret: str) -> str:
    """A valid TOTP code never used before in this process (the server refuses replays)."""
    import time

    step = int(time.time() // 30)
    last = _used.get(secret, step - 2)
    use = max(step, last + 1)
    assert use <= step + 1, "more than two sign-ins of one user within 30 seconds"
    _used[secret] = use
    return pyotp.TOTP(secret).at(use * 30)
