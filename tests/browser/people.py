"""People the browser tests add through the administration pages, and their first sign-in.

The demo accounts with two-step sign-in must meet the app for the first time in
test_signin.py, so other browser tests work as newcomers the administrator ``admin.osei``
adds, once per module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, StorageState

from btam.demo import OFFICER_AGENCY, SCHOOLS, TEAM
from tests.browser.live import Browsing, LiveServer
from tests.support.pages import (
    AdminPage,
    ConfirmPasswordPage,
    Keyring,
    PasswordChangePage,
    sign_in,
)

ADMIN_PASSWORD = "seven herons fold the evening tide"


def confirm_admin_password(page: Page) -> Page:
    """The administrator confirms the password (administrative changes ask for it every 15
    minutes) and is back on /admin/."""
    confirmed = ConfirmPasswordPage(page).open(back_to="/admin/").confirm(ADMIN_PASSWORD)
    assert urlsplit(confirmed.page.url).path == "/admin/", confirmed.page.url
    return page


OWN_PASSWORD = "amber tides wash the harbour wall"
SCHOOL_NAMES = {code: name for name, code in SCHOOLS}


@dataclass(frozen=True)
class Newcomer:
    """Someone the administrator adds for these tests, as the "Add a user" form has it."""

    username: str
    name: str
    role: str
    discipline: str = "None"
    agency: str = ""
    schools: tuple[str, ...] = ()  # school names; none means the whole district
    on_team: bool = False

    @property
    def choice(self) -> str:
        """How the case pages' lists of people name them: "Name (Role)"."""
        return f"{self.name} ({self.role})"


LEAD = Newcomer("lead.vance", "Nadia Vance", "Team lead", "Administrator", on_team=True)
OFFICER = Newcomer(
    "sro.hale",
    "Officer Paul Hale",
    "Team member",
    "Law enforcement",
    agency=OFFICER_AGENCY,
    schools=tuple(SCHOOL_NAMES.values()),
    on_team=True,
)
COUNSELOR = Newcomer(
    "counselor.ibarra", "Marta Ibarra", "Counselor", schools=(SCHOOL_NAMES["RHS"],)
)
AUDITOR = Newcomer("auditor.lund", "Erik Lund", "Auditor")


# A newcomer's cookies, the newcomer added and signed in once (the ``newcomers`` fixture).
Enrol = Callable[[Newcomer], StorageState]


def enrolled(
    chromium: Browser,
    live_server: LiveServer,
    admin_state: StorageState,
    keyring: Keyring,
    who: Newcomer,
) -> StorageState:
    """Add ``who`` (and put them on the demo team), sign in once: the cookies of that session."""
    browsing = Browsing(chromium, live_server.base_url)
    try:
        admin_tab = confirm_admin_password(browsing.new_page(storage_state=admin_state))
        admin = AdminPage(admin_tab).open()
        form = admin.add_user().fill(
            username=who.username,
            name=who.name,
            role=who.role,
            discipline=who.discipline,
            agency=who.agency,
            whole_district=not who.schools,
            schools=who.schools,
        )
        temporary = form.create().temporary_password.inner_text()
        if who.on_team:
            AdminPage(admin.page).open().open_team(TEAM).add_members(who.name)
        page = browsing.new_page()
        forced = sign_in(page, who.username, temporary, keyring)
        assert isinstance(forced, PasswordChangePage), f"expected a forced change: {page.url}"
        forced.change(temporary, OWN_PASSWORD)
        return page.context.storage_state()
    finally:
        browsing.close()
