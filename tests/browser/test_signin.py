"""Signing in and out in a real browser, against the app as `make run` serves it.

Every demo account of ``btam/demo.py`` signs in here through the pages a person uses. The
accounts with two-step sign-in do so once per server and nowhere else (the other tests work
as ``admin.osei`` or as people they create), so this file always sees their first sign-in.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from btam.access.actor import ROLES_REQUIRING_MFA
from btam.demo import ACCOUNTS, DemoAccount
from tests.browser.live import Browsing, LiveServer
from tests.support.pages import (
    DashboardPage,
    EnrolPage,
    Keyring,
    LoginPage,
    moved_on_from,
    sign_in,
)

pytestmark = pytest.mark.browser

STAFF = [a for a in ACCOUNTS if a.role not in ROLES_REQUIRING_MFA]
TWO_STEP = [a for a in ACCOUNTS if a.role in ROLES_REQUIRING_MFA]


def expect_dashboard_of(reached: object, account: DemoAccount) -> None:
    assert isinstance(reached, DashboardPage), f"expected the dashboard, got {reached!r}"
    role = account.role.label
    discipline = f" ({account.discipline.label})" if account.discipline else ""
    expect(reached.heading).to_have_text(f"Welcome, {account.display_name}")
    expect(reached.signed_in_role).to_have_text(f"You are signed in as {role}{discipline}.")
    expect(reached.signed_in_as).to_have_text(f"{account.display_name} · {role}")


def expect_a_clean_report(browsing: Browsing, page: Page) -> None:
    report = browsing.report(page)
    assert report.csp_violations == []
    assert report.script_errors == []
    assert report.errors() == []


@pytest.mark.parametrize("account", STAFF, ids=lambda a: a.username)
def test_staff_sign_in_with_a_password_alone_and_land_on_the_dashboard(
    page: Page, browsing: Browsing, live_server: LiveServer, account: DemoAccount
) -> None:
    reached = LoginPage(page).open().submit(account.username, live_server.demo_password)
    expect_dashboard_of(reached, account)
    expect_a_clean_report(browsing, page)


@pytest.mark.parametrize("account", TWO_STEP, ids=lambda a: a.username)
def test_every_other_role_sets_up_two_step_sign_in_at_first_sign_in(
    page: Page,
    browsing: Browsing,
    live_server: LiveServer,
    keyring: Keyring,
    account: DemoAccount,
) -> None:
    enrol = LoginPage(page).open().submit(account.username, live_server.demo_password)
    assert isinstance(enrol, EnrolPage), f"{account.username} was not asked to enrol: {page.url}"
    expect(enrol.qr_code).to_be_visible()
    app = enrol.add_to_authenticator()
    assert len(app.secret) == 32, f"unexpected key shown: {app.secret!r}"

    codes = enrol.turn_on(app)
    expect(codes.codes).to_have_count(10)
    codes.store_codes(app)
    keyring.apps[account.username] = app
    assert len(set(app.recovery_codes)) == 10

    expect_dashboard_of(codes.continue_(), account)
    expect_a_clean_report(browsing, page)


def test_signing_out_ends_the_session_for_back_button_address_bar_and_copied_cookie(
    page: Page, browsing: Browsing, live_server: LiveServer, keyring: Keyring
) -> None:
    brooks = next(a for a in STAFF if a.username == "teacher.brooks")
    dashboard = sign_in(page, brooks.username, live_server.demo_password, keyring)
    expect_dashboard_of(dashboard, brooks)
    copied = page.context.cookies()

    login = dashboard.sign_out()
    expect(login.flash).to_have_text("You have signed out.")
    expect(login.sign_out_button).to_have_count(0)

    # Back: the dashboard must come from the server again (no-store), which sends to sign-in.
    page.go_back()
    LoginPage(page).expect_shown()
    expect(page.get_by_text(brooks.display_name)).to_have_count(0)

    assert isinstance(DashboardPage.visit(page), LoginPage)

    # The session ended on the server, not just in this browser's cookie jar.
    replay = browsing.new_page()
    replay.context.add_cookies(copied)  # type: ignore[arg-type]
    assert isinstance(DashboardPage.visit(replay), LoginPage)


def test_a_keyboard_user_signs_in_with_tab_and_enter_alone(
    page: Page, live_server: LiveServer
) -> None:
    brooks = next(a for a in STAFF if a.username == "teacher.brooks")
    login = LoginPage(page).open()
    expect(login.user_name).to_be_focused()
    page.keyboard.type(brooks.username)
    page.keyboard.press("Tab")
    expect(login.password).to_be_focused()
    page.keyboard.type(live_server.demo_password)
    page.keyboard.press("Enter")
    dashboard = moved_on_from(page, LoginPage.path)
    expect_dashboard_of(dashboard, brooks)

    # A page without autofocus: the first Tab reaches the skip link, Enter skips the header.
    page.keyboard.press("Tab")
    expect(dashboard.skip_link).to_be_focused()
    expect(dashboard.skip_link).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(dashboard.main).to_be_focused()


def test_the_skip_link_is_the_first_focusable_element_of_the_sign_in_page(page: Page) -> None:
    login = LoginPage(page).open()
    expect(login.user_name).to_be_focused()
    expect(login.skip_link).not_to_be_in_viewport()

    page.keyboard.press("Shift+Tab")
    expect(login.brand_link).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(login.skip_link).to_be_focused()
    expect(login.skip_link).to_be_in_viewport()
    # One more step back leaves the page: nothing comes before the skip link.
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement === document.body")
