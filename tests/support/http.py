"""A person's browser against a served app (tests/browser/live.py): real HTTP, its own cookies.

It follows no redirect, so a test sees each answer as the server gave it, and it can say which
client address it stands for (``X-Forwarded-For``, honoured when the server trusts one proxy
hop: ``BTAM_HTTP_PROXY_HOPS=1``), so that parallel clients are as many people in as many
places.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html import unescape

from tests.support.web import csrf_token

TIMEOUT = 60


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


@dataclass(frozen=True)
class Answer:
    status: int
    location: str
    text: str

    @property
    def path(self) -> str:
        """The path a redirect points to ('' for any other answer)."""
        return urllib.parse.urlsplit(self.location).path


class Client:
    """One browser: a cookie jar, a client address, forms filled in from their pages."""

    def __init__(
        self,
        base_url: str,
        *,
        address: str | None = None,
        cookies: http.cookiejar.CookieJar | None = None,
    ) -> None:
        self.base_url = base_url
        self.address = address
        self.cookies = cookies if cookies is not None else http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects()
        )

    def copy(self, *, address: str | None = None) -> Client:
        """Another browser holding a copy of this one's cookies (a saved or shared session)."""
        jar = http.cookiejar.CookieJar()
        for cookie in self.cookies:
            jar.set_cookie(cookie)
        return Client(self.base_url, address=address or self.address, cookies=jar)

    def _send(self, path: str, data: dict[str, str] | None) -> Answer:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body)  # noqa: S310 - http://127.0.0.1 only
        if self.address:
            request.add_header("X-Forwarded-For", self.address)
        try:
            with self._opener.open(request, timeout=TIMEOUT) as answer:
                return Answer(answer.status, "", answer.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as refused:
            text = refused.read().decode("utf-8", "replace")
            return Answer(refused.code, refused.headers.get("Location", ""), text)

    def get(self, path: str) -> Answer:
        return self._send(path, None)

    def post(self, path: str, data: dict[str, str]) -> Answer:
        return self._send(path, data)

    def token(self, path: str) -> str:
        """The CSRF token of a page (the session's: any of its forms will take it)."""
        page = self.get(path)
        assert page.status == 200, f"{path} answered {page.status}"
        return csrf_token(page.text)

    def submit(self, page: str, data: dict[str, str], *, action: str | None = None) -> Answer:
        """Open ``page``, take its form token, and post ``data`` to ``action`` (or the page)."""
        return self.post(action or page, {"csrf_token": self.token(page), **data})


def totp_secret_on(html: str) -> str:
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html)
    assert match, "the page shows no authenticator key"
    return match.group(1).replace(" ", "")


def recovery_codes_on(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", html)


def follow_up_code_on(html: str) -> str:
    match = re.search(r"\b([A-Z2-9]{4}(?:-[A-Z2-9]{4}){5})\b", unescape(html))
    assert match, "the page shows no follow-up code"
    return match.group(1)
