"""What the browser tests check on every page: accessibility (axe-core, WCAG 2.1 A and AA),
that nothing runs out sideways, and that the browser reported nothing wrong.

axe-core comes with its Python package (nothing is downloaded at test time) and is injected
through the browser's own evaluation channel, which the page's Content Security Policy does
not govern: nothing is weakened for the check.

``Look`` is what the journeys call after every navigation and every submit: it checks the
page the browser shows at 1280 px and at 390 px, resizing without a reload so that the answer
to a POST (a refused form, a confirmation) is checked as it was served. Every document a
page loads reports itself (``WATCH_DOCUMENTS`` in live.py), so ``Look.everything_seen``
names any page a journey went through without looking at it. Within a test, axe runs once
per page and kinds of markup (``PAGE_STATE``); the width is measured on every page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, ViewportSize

from tests.browser.live import Browsing, PageReport
from tests.support.pages import path_of

PHONE: ViewportSize = {"width": 390, "height": 844}
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
WCAG_AA: dict[str, Any] = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    # Only the violations are worth their transport; passes would be serialised too.
    "resultTypes": ["violations"],
}
AXE_SCRIPT: str = Axe().axe_script
RUN_AXE = """async (options) => {
  const results = await axe.run(document, options);
  return results.violations.map((v) =>
    `${v.id}: ${JSON.stringify(v.nodes.slice(0, 3).map((n) => n.target))}`);
}"""
# The page a test looks at: its document, its address, and the kinds of markup it holds
# (element, classes, role, type, open or not). A page whose kinds were all checked already
# in the test (the case page after one more fact) is measured for width but not run through
# axe again; a new kind (a first referral, an error summary, an opened form) is.
PAGE_STATE = """() => ({
  id: window.__btamDocument ?? null,
  url: location.href,
  kinds: [...new Set([...document.querySelectorAll("body *")].map((e) =>
    [e.tagName, e.className, e.getAttribute("role"), e.getAttribute("type"),
     e.hasAttribute("open")].join("|")))].sort().join("\\n"),
})"""
# Only the document's own answer may be a failure (a refused form answers 400, a forbidden
# page 403); the browser logs that as a console error.
OWN_STATUS = re.compile(r"the server responded with a status of 4\d\d")


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations on the page as it is now, three nodes each."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    found: list[str] = page.evaluate(RUN_AXE, WCAG_AA)
    return found


# The innermost elements that reach past the right edge: what to fix when a page runs out.
WIDEST = """() => {
  const edge = document.documentElement.clientWidth;
  const out = [...document.querySelectorAll("body *")].filter(
    (e) => e.getBoundingClientRect().right > edge + 0.5);
  return out.filter((e) => !out.some((o) => o !== e && e.contains(o))).slice(0, 3).map(
    (e) => `${e.parentElement.closest("[id]")?.id ?? ""} ${e.tagName.toLowerCase()}`
      + `${[...e.classList].map((c) => "." + c).join("")} "${e.textContent.trim().slice(0, 40)}"`);
}"""


def sideways_overflow(page: Page) -> int:
    """How many pixels the page runs out sideways (0 when it fits its viewport)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@dataclass
class _Heard:
    """How much of a page's report earlier looks have already gone through."""

    csp: int = 0
    scripts: int = 0
    console: int = 0


@dataclass
class Look:
    """Checks each page a test goes through, once per document, at both widths."""

    browsing: Browsing
    problems: list[str] = field(default_factory=list)
    # (path with its numbers left out, kinds of markup) of the pages axe went through.
    _checked: set[tuple[str, str]] = field(default_factory=set)
    _heard: dict[int, _Heard] = field(default_factory=dict)

    def __call__(self, page: Page) -> Page:
        """Check the page shown now: axe at its width and the other one, no sideways scroll at
        390 px, no CSP violation, script error or console error since the last look."""
        report = self.browsing.report(page)
        state = page.evaluate(PAGE_STATE)
        where = path_of(state["url"])
        self._browser_said(page, report, where, state["url"])
        if state["id"] is None or state["id"] in report.looked_at:
            return page
        report.looked_at.add(state["id"])
        kind = (re.sub(r"\d+", "#", where), state["kinds"])
        run_axe = kind not in self._checked
        self._checked.add(kind)
        shown = page.viewport_size
        assert shown is not None
        widths = [shown, PHONE if shown["width"] > PHONE["width"] else LAPTOP]
        for size in widths:
            if size is not shown:
                page.set_viewport_size(size)
            at = f"{where} at {size['width']} px"
            if run_axe:
                self.problems += [f"{at}: {p}" for p in accessibility_problems(page)]
            if size["width"] <= PHONE["width"] and (over := sideways_overflow(page)) > 0:
                widest = page.evaluate(WIDEST)
                self.problems.append(f"{at} runs {over} px out sideways: {widest}")
        page.set_viewport_size(shown)
        return page

    def _browser_said(self, page: Page, report: PageReport, where: str, url: str) -> None:
        heard = self._heard.setdefault(id(page), _Heard())
        self.problems += [f"{where}: CSP {v}" for v in report.csp_violations[heard.csp :]]
        self.problems += [f"{where}: script {e}" for e in report.script_errors[heard.scripts :]]
        self.problems += [
            f"{where}: console {text} ({source})"
            for text, source in report.console_errors[heard.console :]
            if not (source == url and OWN_STATUS.search(text))
        ]
        heard.csp = len(report.csp_violations)
        heard.scripts = len(report.script_errors)
        heard.console = len(report.console_errors)

    def everything_seen(self) -> list[str]:
        """Problems found, and the pages some test went through without a look."""
        unseen = [
            f"{path_of(url)} was shown but never looked at"
            for page in self.browsing.pages
            for url in self.browsing.report(page).unseen()
        ]
        return [*self.problems, *unseen]
