"""What the browser tests check on every page: accessibility (axe-core, WCAG 2.1 A and AA)
and that nothing runs out sideways.

axe-core comes with its Python package (nothing is downloaded at test time) and is injected
through the browser's own evaluation channel, which the page's Content Security Policy does
not govern: nothing is weakened for the check.
"""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
AXE = Axe()


def accessibility_problems(page: Page) -> list[str]:
    results = AXE.run(page, options=WCAG_AA)
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


def sideways_overflow(page: Page) -> int:
    """How many pixels the page runs out sideways (0 when it fits its viewport)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )
