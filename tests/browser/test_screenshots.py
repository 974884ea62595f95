"""The README's screenshots, taken from the demo district in a real browser.

``make screenshots`` runs this module with ``BTAM_SCREENSHOTS_DIR=docs/screenshots``; in the
suite they go to a temporary folder and the test checks that each is a real picture.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, StorageState

from btam.demo.cases import BATHROOM_WALL
from tests.browser.demo_cases import number_of, open_demo_case
from tests.browser.live import Browsing
from tests.browser.people import AUDITOR, LEAD, Enrol
from tests.support.pages import CaseListPage

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    chosen = os.environ.get("BTAM_SCREENSHOTS_DIR")
    where = Path(chosen) if chosen else tmp_path
    where.mkdir(parents=True, exist_ok=True)
    return where


def _page(browsing: Browsing, state: StorageState | None, size: dict[str, int]) -> Page:
    page = browsing.new_page(storage_state=state)
    page.set_viewport_size(size)
    return page


def test_the_readmes_screenshots(browsing: Browsing, newcomers: Enrol, folder: Path) -> None:
    taken: list[str] = []

    def shot(name: str, take: Callable[[Path], object]) -> None:
        take(folder / f"{name}.png")
        taken.append(name)

    lead = _page(browsing, newcomers(LEAD), LAPTOP)
    lead.goto("/dashboard")
    shot("home-lead", lambda p: lead.screenshot(path=p, full_page=True))
    lead.goto("/triage/")
    shot("triage-queue", lambda p: lead.screenshot(path=p, full_page=True))
    number = number_of(CaseListPage(lead).open(), BATHROOM_WALL)
    open_demo_case(lead, BATHROOM_WALL)
    shot("case", lambda p: lead.screenshot(path=p))
    shot("assessment", lambda p: lead.locator("#questions").screenshot(path=p))
    shot("plan", lambda p: lead.locator("#plan").screenshot(path=p))
    lead.goto("/meetings/")
    # Yesterday's meeting of the demo: attendance, minutes and decisions recorded.
    lead.get_by_role("table", name="Past meetings, latest first").get_by_role("link").first.click()
    lead.get_by_role("heading", level=1, name=re.compile("meeting of")).wait_for()
    shot("meeting", lambda p: lead.screenshot(path=p, full_page=True))

    auditor = _page(browsing, newcomers(AUDITOR), LAPTOP)
    auditor.goto(f"/audit/?case_number={number}")
    shot("audit", lambda p: auditor.screenshot(path=p, full_page=True))

    tipster = _page(browsing, None, PHONE)
    tipster.goto("/tip")
    shot("tip-phone", lambda p: tipster.screenshot(path=p, full_page=True))

    for name in taken:
        data = (folder / f"{name}.png").read_bytes()
        assert data.startswith(PNG_SIGNATURE), f"{name}.png is not a PNG"
        assert len(data) > 5_000, f"{name}.png is suspiciously small ({len(data)} bytes)"
