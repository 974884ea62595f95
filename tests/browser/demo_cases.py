"""The demo's cases as a browser finds them: by school, status and level on the case list."""

from __future__ import annotations

from playwright.sync_api import Page

from btam.demo.cases import DemoCase
from tests.browser.people import SCHOOL_NAMES
from tests.support.pages import NOT_DETERMINED, CaseListPage, CasePage


def number_of(cases: CaseListPage, demo: DemoCase) -> str:
    """A demo case's number, read off the case list: its school, status and level are unique."""
    return cases.number_of(
        school=SCHOOL_NAMES[demo.school],
        status=demo.status.label,
        level=demo.level.capitalize() if demo.level else NOT_DETERMINED,
    )


def open_demo_case(page: Page, demo: DemoCase) -> CasePage:
    cases = CaseListPage(page).open()
    return cases.open_case(number_of(cases, demo))
