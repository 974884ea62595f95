"""Every page in a real browser: the Content Security Policy holds, nothing logs an error,
the stylesheet applies, and the pages look like pages (screenshots)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.live import Browsing, expect_clean
from tests.support.pages import (
    AccountPage,
    AdminPage,
    AuditTrailPage,
    DashboardPage,
    EnrolPage,
    Keyring,
    LoginPage,
    PasswordChangePage,
    SecondFactorPage,
    path_of,
    sign_in,
)

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OWN_PASSWORD = "lichen grows slowly on northern stones"
# btam.css: body { background: var(--wash) } with --wash #f3f5f8; a browser's default is
# transparent.
WASH = "rgb(243, 245, 248)"


def test_no_page_breaks_the_content_security_policy_or_logs_an_error(
    admin_page: Page, browsing: Browsing, keyring: Keyring
) -> None:
    for path, heading in (
        ("/dashboard", "Welcome, Ama Osei"),
        ("/admin/", "Administration"),
        ("/admin/users/new", "Add a user"),
        ("/admin/teams/new", "Add a team"),
        ("/admin/schools", "Schools"),
        ("/account/", "My account"),
        ("/account/password", "Change password"),
        ("/account/two-step", "Set up two-step sign-in"),
    ):
        admin_page.goto(path)
        expect(admin_page.get_by_role("heading", level=1)).to_have_text(heading)
    admin = AdminPage(admin_page).open()
    admin.page.get_by_role("link", name="Riverbend District Threat Assessment Team").click()
    expect(admin.heading).to_have_text("Riverbend District Threat Assessment Team")
    expect(AdminPage(admin_page).open().open_user("Kwame Mensah").heading).to_have_text(
        "Kwame Mensah"
    )

    # A newcomer's first sign-in (enrolment, recovery codes, forced change), then a second.
    temporary = AdminPage(admin_page).create_user(
        username="auditor.tour", name="Lena Tour", role="Auditor"
    )
    newcomer = browsing.new_page()
    forced = sign_in(newcomer, "auditor.tour", temporary, keyring)
    assert isinstance(forced, PasswordChangePage)
    account = forced.change(temporary, OWN_PASSWORD)
    assert isinstance(account, AccountPage)
    expect(account.two_step).to_contain_text("You have 10 unused recovery codes")
    dashboard = DashboardPage.visit(newcomer)
    assert isinstance(dashboard, DashboardPage)
    code_page = dashboard.sign_out().submit("auditor.tour", OWN_PASSWORD)
    assert isinstance(code_page, SecondFactorPage)
    assert isinstance(code_page.submit(keyring["auditor.tour"].code()), DashboardPage)
    trail = AuditTrailPage(newcomer).open()
    expect(trail.integrity).to_contain_text("Intact.")
    expect(trail.show_entries().entries).to_contain_text("auth:")
    trail.emergency_grants()

    expect_clean(browsing, admin_page, newcomer)


def test_the_page_report_notices_a_content_security_policy_violation(
    page: Page, browsing: Browsing
) -> None:
    """The watch of the test above is only worth something if it can see a violation."""
    LoginPage(page).open()
    directive = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation",
                (event) => resolve(event.effectiveDirective), { once: true });
            const script = document.createElement("script");
            script.textContent = "window.inlineScriptRan = true";
            document.body.append(script);
        })"""
    )
    assert directive == "script-src-elem"
    assert page.evaluate("window.inlineScriptRan") is None
    report = browsing.report(page)
    assert any("script-src-elem blocked inline" in v for v in report.csp_violations)
    assert any("Content Security Policy" in v for v in report.csp_violations)


def test_the_stylesheet_loads_and_styles_the_pages(page: Page, admin_page: Page) -> None:
    for shown in (LoginPage(page).open(), AdminPage(admin_page).open()):
        body = shown.page.locator("body")
        expect(body).to_have_css("background-color", WASH)
        expect(body).to_have_css("font-family", re.compile(r"^system-ui,"))
        expect(shown.page.get_by_role("banner")).to_have_css("background-color", "rgb(8, 58, 102)")


def test_an_error_page_is_styled_and_keeps_to_the_policy(
    admin_page: Page, browsing: Browsing
) -> None:
    answer = admin_page.goto("/no-such-page")
    assert answer is not None and answer.status == 404
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(admin_page.locator("body")).to_have_css("background-color", WASH)
    report = browsing.report(admin_page)
    assert report.csp_violations == []
    # The browser reports the 404 of the page itself; nothing else may fail.
    others = [(t, u) for t, u in report.errors() if path_of(u) != "/no-such-page"]
    assert others == []


@pytest.mark.parametrize("who", ["visitor", "signed-in user"])
def test_the_browser_finds_a_favicon(page: Page, admin_page: Page, who: str) -> None:
    shown = LoginPage(page).open() if who == "visitor" else AdminPage(admin_page).open()
    icon = shown.page.evaluate(
        """() => document.querySelector("link[rel~='icon']")?.href
                 ?? new URL("/favicon.ico", location.href).href"""
    )
    answer = shown.page.request.get(icon, max_redirects=0)
    assert answer.status == 200, f"{icon} answered {answer.status}"
    assert answer.headers.get("content-type", "").startswith("image/")


def test_screenshots_of_the_sign_in_enrolment_and_admin_pages_are_pngs(
    page: Page, admin_page: Page, keyring: Keyring, shots: Callable[[str], Path]
) -> None:
    LoginPage(page).open().screenshot(str(shots("login")))

    temporary = AdminPage(admin_page).create_user(
        username="counselor.shot", name="Noor Shot", role="Counselor"
    )
    enrol = LoginPage(page).open().submit("counselor.shot", temporary)
    assert isinstance(enrol, EnrolPage)
    expect(enrol.qr_code).to_be_visible()
    enrol.screenshot(str(shots("enrol")))

    AdminPage(admin_page).open().screenshot(str(shots("admin")))

    for name in ("login", "enrol", "admin"):
        data = shots(name).read_bytes()
        assert data.startswith(PNG_SIGNATURE), f"{name}.png is not a PNG"
        assert len(data) > 5_000, f"{name}.png is suspiciously small ({len(data)} bytes)"
