"""Pages as people hold them: a phone, a laptop; refused forms; triage's outcome fields.

Run by a team lead the administrator adds (``newcomers``), on the demo district.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, StorageState, expect

from tests.browser.checks import LAPTOP, PHONE, Look, accessibility_problems, sideways_overflow
from tests.browser.live import Browsing, expect_clean
from tests.browser.people import LEAD, Enrol
from tests.support.pages import path_of

pytestmark = pytest.mark.browser


@pytest.fixture
def lead_state(newcomers: Enrol) -> StorageState:
    return newcomers(LEAD)


def first_link(page: Page, path: str, pattern: str) -> str:
    page.goto(path)
    href = page.locator(f"main a[href^='{pattern}']").first.get_attribute("href")
    assert href, f"no link to {pattern} on {path}"
    return href


def test_signed_in_pages_fit_a_phone_and_a_laptop_and_pass_axe(
    browsing: Browsing, lead_state: StorageState
) -> None:
    page = browsing.new_page(storage_state=lead_state)
    case = first_link(page, "/cases/", "/cases/2")
    report = first_link(page, "/triage/", "/triage/")
    paths = ["/dashboard", "/triage/", report, "/cases/", case, "/reports/new", "/account/"]
    problems: list[str] = []
    for size in (PHONE, LAPTOP):
        page.set_viewport_size(size)
        for path in paths:
            page.goto(path)
            if (over := sideways_overflow(page)) > 0:
                problems.append(f"{path} at {size['width']} px runs {over} px out sideways")
            problems += [f"{path} at {size['width']} px: {p}" for p in accessibility_problems(page)]
    assert problems == []
    expect_clean(browsing, page)


def test_the_navigation_folds_behind_a_menu_button_on_a_phone(
    browsing: Browsing, lead_state: StorageState
) -> None:
    page = browsing.new_page(storage_state=lead_state)
    page.set_viewport_size(PHONE)
    page.goto("/dashboard")
    menu = page.get_by_role("button", name="Menu")
    cases = page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(cases).to_be_hidden()
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(cases).to_be_visible()
    assert sideways_overflow(page) == 0
    cases.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    # On a laptop the links are there at once, and the button is not.
    page.set_viewport_size(LAPTOP)
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(cases).to_be_visible()
    expect_clean(browsing, page)


def test_a_refused_form_takes_the_reader_to_what_to_fix(
    browsing: Browsing, lead_state: StorageState, look: Look
) -> None:
    page = browsing.new_page(storage_state=lead_state)
    page.set_viewport_size(LAPTOP)
    page.goto("/reports/new")
    look(page).get_by_role("button", name="Send the report").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    look(page)
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    link = summary.get_by_role("link").first
    target = (link.get_attribute("href") or "#").removeprefix("#")
    page.keyboard.press("Tab")
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(f"[id='{target}']")).to_be_in_viewport()
    report = browsing.report(page)
    assert report.csp_violations == [] and report.script_errors == []
    # The browser reports the refused page's own 400; nothing else may fail.
    assert [(t, u) for t, u in report.errors() if path_of(u) != "/reports/new"] == []


def test_triage_shows_only_the_chosen_outcomes_fields(
    browsing: Browsing, lead_state: StorageState, look: Look
) -> None:
    page = browsing.new_page(storage_state=lead_state)
    page.set_viewport_size(LAPTOP)
    report = first_link(page, "/triage/", "/triage/")
    look(page).goto(report)
    look(page)
    opening = page.get_by_role("group", name="Opening a case")
    existing = page.get_by_role("group", name="Adding to an existing case")
    dismissal = page.get_by_role("group", name="No threat: a documented dismissal")
    reasons = page.get_by_role(
        "group", name="The reasons (no threat, or the suicide-risk protocol)"
    )
    for part in (opening, existing, dismissal, reasons):
        expect(part).to_be_hidden()
    page.get_by_label("Opened a case").check()
    expect(opening).to_be_visible()
    for part in (existing, dismissal, reasons):
        expect(part).to_be_hidden()
    page.get_by_label("No threat", exact=True).check()
    expect(dismissal).to_be_visible()
    expect(reasons).to_be_visible()
    expect(opening).to_be_hidden()
    look(page)
    assert accessibility_problems(page) == []
    expect_clean(browsing, page)
