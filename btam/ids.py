"""Record ids and page numbers as people type them: ASCII digits within a column's range."""

from __future__ import annotations

# Every id column is a 32-bit integer: a larger number typed into a form or URL finds nothing.
MAX_ID = 2**31 - 1


def is_record_id(value: object) -> bool:
    """Answer whether ``value`` is an int a record id column can hold (1 to 2**31 - 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def parse_id(text: str | None) -> int | None:
    """The record id ``text`` names, or None: only ASCII digits within a column's range count.

    ``"²".isdigit()`` is true and ``int("٣")`` is 3: a typed id is read here and nowhere else,
    so no Unicode digit, sign, space or huge value reaches a query or fails one.
    """
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if is_record_id(value) else None
