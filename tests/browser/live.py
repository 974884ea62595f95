"""The app served as `make run` serves it, and browser contexts that report what went wrong.

``serve`` runs ``btam init``, ``btam demo`` and ``btam create-user`` in a fresh instance folder
with the development configuration (argon2 at production strength), then gunicorn with two
workers on a free port of 127.0.0.1. ``Browsing`` opens fresh Chromium contexts whose console
errors, script errors and Content Security Policy violations are collected per page.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, StorageState

ROOT = Path(__file__).resolve().parents[2]
# The virtual environment running the tests holds the `btam` and `gunicorn` commands too.
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
START_TIMEOUT = 120.0  # a deadline, not a wait: a loaded 2-core machine boots slowly
# Long enough for argon2 at production strength on a busy two-core machine, short enough
# that a page that never comes fails its test quickly, with its own message.
ACTION_TIMEOUT_MS = 30_000


def require_chromium() -> None:
    """Skip without Debian's Chromium; under CI a missing browser is a failure instead."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {CHROMIUM} is missing: the browser tests need Chromium")
    pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    demo_password: str
    admin_username: str
    admin_temporary_password: str
    log: Path
    # The environment the server and its commands run with (for `btam` commands of a test).
    environment: dict[str, str] = field(default_factory=dict)

    def log_tail(self, lines: int = 40) -> str:
        """The end of gunicorn's log: start-up, errors, and the requests with their worker."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _environment(instance: Path, settings: Mapping[str, str] | None = None) -> dict[str, str]:
    # The suite's own BTAM_* (BTAM_CONFIG=testing with fast hashing) must not leak into the
    # served app: it runs with what `make run` gives it, and the settings a test names.
    env = {name: value for name, value in os.environ.items() if not name.startswith("BTAM_")}
    env.update(BTAM_CONFIG="development", BTAM_INSTANCE=str(instance))
    env.update(settings or {})
    return env


def btam_command(server: LiveServer, *args: str) -> str:
    """Run a ``btam`` command on the server's instance and stores; fail the test if it fails."""
    return _btam(server.environment, *args)


def _btam(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [str(BIN / "btam"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"btam {args[0]} failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(
    proc: subprocess.Popen[bytes], base_url: str, log: Path, workers: int
) -> None:
    """Return once /healthz answers 200 and every worker has booted; fail at the deadline."""
    deadline = time.monotonic() + START_TIMEOUT
    healthy = False
    while time.monotonic() < deadline:
        if not healthy:
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as answer:  # noqa: S310 - http://127.0.0.1 only
                    healthy = answer.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                healthy = False
        if healthy and log.read_text(errors="replace").count("Booting worker") >= workers:
            return
        try:
            # The pause between polls, which also notices a gunicorn that gave up.
            proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
    pytest.fail(f"gunicorn did not answer {base_url}/healthz within {START_TIMEOUT:.0f} s")


@contextmanager
def serve(
    home: Path,
    *,
    demo_password: str,
    admin_username: str,
    admin_name: str,
    settings: Mapping[str, str] | None = None,
) -> Iterator[LiveServer]:
    """The demo district behind gunicorn, plus one district administrator made at the shell.

    ``settings`` are ``BTAM_*`` variables for the server and its commands (other stores, a
    trusted proxy hop, ...).
    """
    env = _environment(home / "instance", settings)
    _btam(env, "init")
    _btam(env, "demo", "--password", demo_password)
    created = _btam(
        env,
        "create-user",
        *("--username", admin_username, "--name", admin_name, "--role", "district_admin"),
    )
    temporary = re.search(r"Temporary password \(shown only now\): (\S+)", created)
    assert temporary, f"btam create-user printed no temporary password: {created}"

    with _gunicorn(env, home / "gunicorn.log", workers=2) as base_url:
        yield LiveServer(
            base_url, demo_password, admin_username, temporary.group(1), home / "gunicorn.log", env
        )


@contextmanager
def serve_again(server: LiveServer, log: Path, *, workers: int) -> Iterator[LiveServer]:
    """Another gunicorn, with ``workers`` workers, on the same instance and stores as
    ``server``: another host behind the same load balancer, or a busier one."""
    with _gunicorn(server.environment, log, workers=workers) as base_url:
        yield replace(server, base_url=base_url, log=log)


@contextmanager
def _gunicorn(env: dict[str, str], log: Path, *, workers: int) -> Iterator[str]:
    """gunicorn serving ``wsgi:app`` on a free port of 127.0.0.1; yields its base URL."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own server with fixed arguments
            [
                str(BIN / "gunicorn"),
                *("--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
                "--access-logfile",
                "-",
                # Which worker served each request, and how long it took.
                *("--access-logformat", '%(t)s %(p)s "%(r)s" %(s)s %(L)ss'),
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(proc, base_url, log, workers)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class PageReport:
    """What the browser said about one page: console errors, script errors, CSP violations."""

    console_errors: list[tuple[str, str]] = field(default_factory=list)  # (text, url)
    csp_violations: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    # Every HTML document the page loaded, by the id WATCH_DOCUMENTS gives it: its address.
    documents: dict[str, str] = field(default_factory=dict)
    # The documents a test has looked at (tests/browser/checks.py, ``Look``).
    looked_at: set[str] = field(default_factory=set)

    def on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)
        elif message.type == "error":
            self.console_errors.append((message.text, message.location.get("url", "")))

    def errors(self) -> list[tuple[str, str]]:
        return list(self.console_errors)

    def unseen(self) -> list[str]:
        """The addresses of the documents the page loaded that no test looked at."""
        return [url for key, url in self.documents.items() if key not in self.looked_at]


# securitypolicyviolation events as well as the console: they name the directive exactly.
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__btamReportViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} on ${event.documentURI}`
  );
});
"""


# Each document of the site gets an id of its own and tells the test it loaded, so that a
# journey can prove it looked at every page it went through (a POST's answer included).
WATCH_DOCUMENTS = """
if (/^https?:$/.test(location.protocol) && window === window.top) {
  const id = `${performance.timeOrigin}-${Math.random()}`;
  Object.defineProperty(window, "__btamDocument", { value: id });
  window.__btamReportDocument(id, location.href);
}
"""


@dataclass
class Browsing:
    """Fresh browser contexts for one test, each with a page and its report; closed after."""

    browser: Browser
    base_url: str
    contexts: list[BrowserContext] = field(default_factory=list)
    reports: dict[int, PageReport] = field(default_factory=dict)
    pages: list[Page] = field(default_factory=list)

    def new_page(self, storage_state: StorageState | None = None) -> Page:
        context = self.browser.new_context(base_url=self.base_url, storage_state=storage_state)
        self.contexts.append(context)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
        report = PageReport()
        context.expose_function(
            "__btamReportViolation", lambda text: report.csp_violations.append(text)
        )
        context.expose_function(
            "__btamReportDocument",
            lambda key, url: report.documents.setdefault(key, url),
        )
        context.add_init_script(WATCH_CSP)
        context.add_init_script(WATCH_DOCUMENTS)
        page = context.new_page()
        page.on("console", report.on_console)
        page.on("pageerror", lambda error: report.script_errors.append(str(error)))
        self.reports[id(page)] = report
        self.pages.append(page)
        return page

    def report(self, page: Page) -> PageReport:
        """The page's report, once everything the page sent so far has arrived."""
        if not page.is_closed():
            # A round trip: the page's earlier messages are ahead of its answer.
            page.evaluate("0")
        return self.reports[id(page)]

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def expect_clean(browsing: Browsing, *pages: Page) -> None:
    """No page broke the Content Security Policy, threw a script error or logged an error."""
    for page in pages:
        report = browsing.report(page)
        assert report.csp_violations == [], f"CSP violations: {report.csp_violations}"
        assert report.script_errors == [], f"script errors: {report.script_errors}"
        assert report.errors() == [], f"console errors: {report.errors()}"
