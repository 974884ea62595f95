"""The tip line under a flood, in a real browser: the form's proof of work is done by the
self-hosted script within the Content Security Policy, and the tip goes through.

A server of its own whose hourly limit is one tip: the first tip floods it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.live import Browsing, LiveServer, expect_clean, require_chromium, serve

pytestmark = pytest.mark.browser

CODE = re.compile(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){5}")


@pytest.fixture(scope="module")
def flooded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_chromium()
    with serve(
        tmp_path_factory.mktemp("flooded"),
        demo_password="copper lantern drifting over quiet meadows",
        admin_username="admin.flood",
        admin_name="Flood Watch",
        settings={"BTAM_TIPS_HOURLY_LIMIT": "1", "BTAM_TIPS_PROOF_BITS": "14"},
    ) as server:
        yield server


def send_tip(page: Page, what: str) -> None:
    page.goto("/tip")
    page.get_by_label("School").select_option(label="Riverbend High School")
    page.get_by_label("A weapon").check()
    page.get_by_label("What happened, or what do you know?").fill(what)
    page.get_by_role("button", name="Send the tip").click()


def test_a_tip_during_a_flood_goes_through_after_the_browsers_proof_of_work(
    chromium: Browser, flooded_server: LiveServer
) -> None:
    browsing = Browsing(chromium, flooded_server.base_url)
    try:
        first = browsing.new_page()
        send_tip(first, "A knife in a backpack in room 12.")
        expect(first.get_by_label("Your follow-up code")).to_have_text(CODE)

        during = browsing.new_page()
        during.goto("/tip")
        expect(during.get_by_text("Many tips are arriving right now.")).to_be_visible()
        send_tip(during, "He showed a gun in the parking lot.")
        # The script finishes its check and sends the tip: the receipt, with its code.
        expect(during.get_by_label("Your follow-up code")).to_have_text(CODE)
        expect_clean(browsing, first, during)
    finally:
        browsing.close()
