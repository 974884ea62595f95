"""Fixtures of the browser tests: the app served as ``make run`` serves it, and Chromium.

Per pytest(-xdist) worker, once: a fresh instance folder, ``btam init`` and ``btam demo`` in
the development configuration (argon2 at production strength), then gunicorn with two
workers, so every sign-in and every form also proves that sessions and CSRF tokens hold
across processes. Each test gets fresh browser contexts: no cookie leaks between tests.

People on the server besides the demo accounts of ``btam/demo.py``:

- ``admin.osei`` (Ama Osei): a second district administrator, made with ``btam create-user``
  and signed in once per worker for the tests that work as an administrator, so that every
  demo account still meets the app for the first time in the sign-in test.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    StorageState,
    sync_playwright,
)

from tests.support.pages import Keyring, PasswordChangePage, path_of, sign_in

ROOT = Path(__file__).resolve().parents[2]
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
DEMO_PASSWORD = "copper lantern drifting over quiet meadows"
ADMIN_USERNAME = "admin.osei"
ADMIN_NAME = "Ama Osei"
ADMIN_PASSWORD = "seven herons fold the evening tide"
START_TIMEOUT = 30.0
# Long enough for argon2 at production strength on a busy two-core machine, short enough
# that a page that never comes fails the test quickly with its own message.
ACTION_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    demo_password: str
    admin_temporary_password: str
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def require_chromium() -> None:
    """Skip without Debian's Chromium; under CI a missing browser is a failure instead."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {CHROMIUM} is missing: the browser tests need Chromium")
    pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")


def _environment(instance: Path) -> dict[str, str]:
    # The test suite's own BTAM_* (BTAM_CONFIG=testing, fast hashing) must not leak into the
    # served app: it runs with what `make run` gives it and nothing else.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BTAM_")}
    env.update(BTAM_CONFIG="development", BTAM_INSTANCE=str(instance))
    return env


def _btam(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own command line, fixed arguments
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


def _wait_until_serving(proc: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    """Return once /healthz answers 200 and both workers have booted; fail at the deadline."""
    deadline = time.monotonic() + START_TIMEOUT
    healthy = False
    while time.monotonic() < deadline:
        if not healthy:
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as answer:  # noqa: S310 - http://127.0.0.1 only
                    healthy = answer.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                healthy = False
        if healthy and len(re.findall(r"Booting worker", log.read_text(errors="replace"))) >= 2:
            return
        try:
            # Doubles as the pause between polls and notices a gunicorn that gave up.
            proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
    pytest.fail(f"gunicorn did not serve {base_url}/healthz within {START_TIMEOUT:.0f} s")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app as `make run` serves it, on a free port of 127.0.0.1, with the demo loaded."""
    require_chromium()
    home = tmp_path_factory.mktemp("live")
    instance = home / "instance"
    env = _environment(instance)
    _btam(env, "init")
    _btam(env, "demo", "--password", DEMO_PASSWORD)
    created = _btam(
        env,
        "create-user",
        "--username",
        ADMIN_USERNAME,
        "--name",
        ADMIN_NAME,
        "--role",
        "district_admin",
    )
    temporary = re.search(r"Temporary password \(shown only now\): (\S+)", created)
    assert temporary, f"btam create-user printed no temporary password: {created}"

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = home / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
                # The worker's pid on every line shows which process served what.
                "--access-logformat",
                '%(t)s %(p)s "%(r)s" %(s)s %(L)ss',
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(proc, base_url, log)
        yield LiveServer(base_url, DEMO_PASSWORD, temporary.group(1), log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; one per worker, a fresh context per use."""
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            # Playwright turns the back/forward cache off; a person's Chromium has it on, and
            # it is what could show a signed-out page again from memory on "back".
            ignore_default_args=["--disable-back-forward-cache"],
        )
        yield browser
        browser.close()


@pytest.fixture
def browsing(chromium: Browser, live_server: LiveServer) -> Iterator[Browsing]:
    session = Browsing(chromium, live_server.base_url)
    yield session
    session.close()


@pytest.fixture
def page(browsing: Browsing) -> Page:
    """A fresh browser context's page, signed in as nobody."""
    return browsing.new_page()


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    """The authenticator apps of the people who enrolled on this worker's server."""
    return Keyring()


@pytest.fixture(scope="session")
def admin_state(chromium: Browser, live_server: LiveServer, keyring: Keyring) -> StorageState:
    """Cookies of a signed-in ``admin.osei``: enrolled, own password chosen. Once per worker."""
    temporary = live_server.admin_temporary_password
    browsing = Browsing(chromium, live_server.base_url)
    try:
        page = browsing.new_page()
        reached = sign_in(page, ADMIN_USERNAME, temporary, keyring)
        assert isinstance(reached, PasswordChangePage), f"expected a forced change: {page.url}"
        reached.change(temporary, ADMIN_PASSWORD)
        return page.context.storage_state()
    finally:
        browsing.close()


@pytest.fixture
def admin_page(browsing: Browsing, admin_state: StorageState) -> Page:
    """A fresh context's page, signed in as the district administrator ``admin.osei``."""
    return browsing.new_page(storage_state=admin_state)


@pytest.fixture
def shots(tmp_path: Path) -> Callable[[str], Path]:
    """Where a test's screenshots go: ``shots("login")`` → ``<tmp>/login.png``."""
    return lambda name: tmp_path / f"{name}.png"

