"""Fixtures of the browser tests: the app served as ``make run`` serves it, and Chromium.

Once per pytest(-xdist) worker: a fresh instance folder, the demo district, gunicorn with two
workers (so every sign-in and every form also proves that sessions and CSRF tokens hold
across processes) and one headless Chromium. Each test gets fresh browser contexts.

People on the server besides the demo accounts of ``btam/demo.py``:

- ``admin.osei`` (Ama Osei): a second district administrator, made with ``btam create-user``
  and signed in once per worker for the tests that work as an administrator, so that every
  demo account still meets the app for the first time in test_signin.py.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, StorageState, expect, sync_playwright

from tests.browser.checks import Look
from tests.browser.live import (
    ACTION_TIMEOUT_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    Browsing,
    LiveServer,
    require_chromium,
    serve,
)
from tests.browser.people import ADMIN_PASSWORD, Enrol, Newcomer, confirm_admin_password, enrolled
from tests.support.pages import Keyring, PasswordChangePage, sign_in

DEMO_PASSWORD = "copper lantern drifting over quiet meadows"
CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed browser test shows the server's side of the story too."""
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(server, LiveServer):
        report.sections.append(("gunicorn log (end)", server.log_tail()))
    return report


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app as `make run` serves it, on a free port of 127.0.0.1, with the demo loaded."""
    require_chromium()
    with serve(
        tmp_path_factory.mktemp("live"),
        demo_password=DEMO_PASSWORD,
        admin_username="admin.osei",
        admin_name="Ama Osei",
    ) as server:
        yield server


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; one per worker, a fresh context per use."""
    require_chromium()
    # expect() has a timeout of its own (5 s), apart from the contexts' one.
    expect.set_options(timeout=ACTION_TIMEOUT_MS)
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
def look(browsing: Browsing, request: pytest.FixtureRequest) -> Iterator[Look]:
    """``look(page)`` after each navigation and submit checks the page at both widths; once
    the test has passed, whatever was found fails it, and so does a page it did not look at."""
    looking = Look(browsing)
    yield looking
    if not request.node.stash.get(CALL_FAILED, True):
        found = looking.everything_seen()
        assert found == [], "\n".join(["What the pages showed:", *found])


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
    """Cookies of ``admin.osei`` signed in: enrolled, own password chosen. Once per worker."""
    browsing = Browsing(chromium, live_server.base_url)
    try:
        page = browsing.new_page()
        temporary = live_server.admin_temporary_password
        forced = sign_in(page, live_server.admin_username, temporary, keyring)
        assert isinstance(forced, PasswordChangePage), f"expected a forced change: {page.url}"
        forced.change(temporary, ADMIN_PASSWORD)
        return page.context.storage_state()
    finally:
        browsing.close()


@pytest.fixture(scope="session")
def newcomers(
    chromium: Browser, live_server: LiveServer, admin_state: StorageState, keyring: Keyring
) -> Enrol:
    """The cookies of a newcomer added and signed in once per worker: every module of the
    worker shares its demo server, where a username can be taken only once."""
    states: dict[str, StorageState] = {}

    def state(who: Newcomer) -> StorageState:
        if who.username not in states:
            states[who.username] = enrolled(chromium, live_server, admin_state, keyring, who)
        return states[who.username]

    return state


@pytest.fixture
def admin_page(browsing: Browsing, admin_state: StorageState) -> Page:
    """A fresh context's page, signed in as the district administrator ``admin.osei``, who
    has just confirmed the password (administrative changes ask for it every 15 minutes)."""
    return confirm_admin_password(browsing.new_page(storage_state=admin_state))


@pytest.fixture
def shots(tmp_path: Path) -> Callable[[str], Path]:
    """Where a test's screenshots go: ``shots("login")`` is ``<tmp>/login.png``."""
    return lambda name: tmp_path / f"{name}.png"
