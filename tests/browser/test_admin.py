"""The district administrator's pages in a real browser: a new user, start to first work."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.live import Browsing
from tests.support.pages import (
    AccountPage,
    AdminPage,
    DashboardPage,
    EnrolPage,
    Keyring,
    LoginPage,
    PasswordChangePage,
    sign_in,
)

pytestmark = pytest.mark.browser

OWN_PASSWORD = "marigold ferries cross at dawn"


def test_a_new_user_gets_a_temporary_password_once_and_must_replace_it_at_first_sign_in(
    admin_page: Page, browsing: Browsing, keyring: Keyring
) -> None:
    form = AdminPage(admin_page).open().add_user()
    form.fill(
        username="teacher.okoye",
        name="Chidi Okoye",
        role="Staff",
        schools=("Cedar Park Middle School",),
    )
    credentials = form.create()
    expect(credentials.main).to_contain_text("shown only now")
    temporary = credentials.temporary_password.inner_text()
    assert len(temporary) >= 15, f"temporary password too short: {temporary!r}"

    user = credentials.back_to_user()
    expect(user.heading).to_have_text("Chidi Okoye")
    expect(user.main).not_to_contain_text(temporary)
    row = AdminPage(admin_page).open().user_row("teacher.okoye")
    expect(row).to_contain_text("Staff")
    expect(row).to_contain_text("CPMS")
    expect(row).to_contain_text("Active")

    newcomer = browsing.new_page()
    forced = sign_in(newcomer, "teacher.okoye", temporary, keyring)
    assert isinstance(forced, PasswordChangePage), f"no forced change: {newcomer.url}"
    expect(forced.forced_notice).to_be_visible()
    # Nothing else opens before the password is the user's own.
    assert isinstance(DashboardPage.visit(newcomer), PasswordChangePage)

    account = PasswordChangePage(newcomer).change(temporary, OWN_PASSWORD)
    assert isinstance(account, AccountPage), f"after the change: {newcomer.url}"
    expect(account.flash).to_contain_text("Your password has been changed.")

    dashboard = DashboardPage.visit(newcomer)
    assert isinstance(dashboard, DashboardPage)
    expect(dashboard.heading).to_have_text("Welcome, Chidi Okoye")
    expect(dashboard.signed_in_as).to_have_text("Chidi Okoye · Staff")


def test_resetting_two_step_sign_in_shows_a_new_key_at_the_next_sign_in(
    admin_page: Page, browsing: Browsing
) -> None:
    temporary = AdminPage(admin_page).create_user(
        username="counselor.moves", name="Ines Moves", role="Counselor"
    )
    person = browsing.new_page()
    # The key is shown, maybe scanned into a phone that is later lost, but never confirmed.
    enrol = LoginPage(person).open().submit("counselor.moves", temporary)
    assert isinstance(enrol, EnrolPage)
    shown_before = enrol.key.inner_text()

    AdminPage(admin_page).open().open_user("Ines Moves").reset_two_step()

    enrol = LoginPage(person).open().submit("counselor.moves", temporary)
    assert isinstance(enrol, EnrolPage), f"no enrolment after the reset: {person.url}"
    assert enrol.key.inner_text() != shown_before, "the key from before the reset is back"
