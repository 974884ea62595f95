"""Working a page with the keyboard alone, as someone who cannot use a mouse does.

Every control is reached with Tab (or Shift+Tab when it lies behind the focus) and the
element the browser's focus is on (``document.activeElement``) is checked before anything is
typed or pressed. Lists move with the arrow keys, boxes and buttons take Space or Enter.
"""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect

# 1 when the target comes after the focus, -1 when before, 0 when it has the focus.
WHERE_FROM_FOCUS = """(target) => {
  const focus = document.activeElement;
  if (focus === target) return 0;
  if (!focus || focus === document.body) return 1;
  return focus.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING ? 1 : -1;
}"""
# Whether the focused element shows it: an outline or a shadow drawn for :focus-visible.
FOCUS_SHOWN = """(element) => {
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return element.matches(":focus-visible") && (outline || style.boxShadow !== "none");
}"""
MOST_PRESSES = 150


@dataclass
class Keys:
    page: Page

    def reach(self, target: Locator) -> Locator:
        """Tab (or Shift+Tab) until ``target`` has the focus; fail if the keys never get there."""
        expect(target).to_be_visible()
        step = int(target.evaluate(WHERE_FROM_FOCUS))
        for _ in range(MOST_PRESSES):
            if step == 0 or target.evaluate(WHERE_FROM_FOCUS) == 0:
                return target
            self.page.keyboard.press("Tab" if step > 0 else "Shift+Tab")
        raise AssertionError(f"{MOST_PRESSES} presses of Tab never reached {target}")

    def type(self, target: Locator, text: str) -> None:
        self.reach(target)
        self.page.keyboard.type(text)

    def date(self, target: Locator, iso: str) -> None:
        """A date field takes its parts in the locale's order (month, day, year)."""
        year, month, day = iso.split("-")
        self.type(target, f"{month}{day}{year}")
        expect(target).to_have_value(iso)

    def choose(self, select: Locator, label: str = "", *, value: str = "") -> None:
        """Move a list's choice with the arrow keys until ``label`` (or ``value``) is chosen."""
        self.reach(select)
        options: list[list[str]] = select.evaluate(
            "(s) => [...s.options].map((o) => [o.text.trim(), o.value])"
        )
        by_value = bool(value)
        wanted = [i for i, o in enumerate(options) if o[by_value] == (value or label)]
        assert wanted, f"{label or value!r} is not among {options}"
        now = int(select.evaluate("(s) => s.selectedIndex"))
        moves = wanted[0] - max(now, 0)
        for _ in range(abs(moves)):
            self.page.keyboard.press("ArrowDown" if moves > 0 else "ArrowUp")
        expect(select).to_have_value(options[wanted[0]][1])

    def tick(self, box: Locator) -> None:
        self.reach(box)
        self.page.keyboard.press("Space")
        expect(box).to_be_checked()

    def pick(self, radios: list[Locator], wanted: Locator) -> None:
        """Tab into a group of radio buttons, take the first, arrow down to ``wanted``."""
        self.reach(radios[0])
        self.page.keyboard.press("Space")
        for _ in radios:
            if wanted.is_checked():
                break
            self.page.keyboard.press("ArrowDown")
        expect(wanted).to_be_checked()
        expect(wanted).to_be_focused()

    def open(self, summary: Locator) -> None:
        """Open a disclosure ("Record a fact") with Enter."""
        self.reach(summary)
        self.page.keyboard.press("Enter")
        expect(summary.locator("xpath=..")).to_have_attribute("open", "")

    def press(self, button: Locator) -> None:
        self.reach(button)
        self.page.keyboard.press("Enter")


def focus_shown(element: Locator) -> bool:
    """Whether the focused ``element`` shows its focus (outline or shadow, :focus-visible)."""
    return bool(element.evaluate(FOCUS_SHOWN))
