"""What a page's markup owes assistive technology, checked on the HTML a route returns."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.label_targets: list[str] = []
        self.described: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids[str(found["id"])] += 1
        if tag == "label" and found.get("for"):
            self.label_targets.append(str(found["for"]))
        for name in ("aria-describedby", "aria-labelledby"):
            self.described.extend((found.get(name) or "").split())


def markup_problems(html: str) -> list[str]:
    """Ids used twice (a label or a description then names the wrong field) and labels or
    descriptions that point at no element."""
    parser = _Ids()
    parser.feed(html)
    known = parser.ids
    problems = [f"id {name!r} used {n} times" for name, n in known.items() if n > 1]
    problems += [f"label for missing id {t!r}" for t in parser.label_targets if t not in known]
    problems += [f"aria reference to missing id {t!r}" for t in parser.described if t not in known]
    return problems
