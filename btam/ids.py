"""Record ids and page numbers as people type them: ASCII digits within a column's range.

Every id or page number that comes from a URL, a query string or a form is read by
:func:`parse_id` (directly, through :func:`record_id` as a form field's ``coerce``, or through
the app's ``<int:...>`` URL converter), so nothing else ever calls ``int()`` on typed text.
"""

from __future__ import annotations

from typing import TypeGuard

# Every id column is a 32-bit integer: a larger number typed into a form or URL finds nothing.
MAX_ID = 2**31 - 1


def is_record_id(value: object) -> TypeGuard[int]:
    """Answer whether ``value`` is an int a record id column can hold (1 to 2**31 - 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def parse_number(text: str | None, *, low: int, high: int) -> int | None:
    """The whole number ``text`` names if it lies in ``low..high``, else None.

    Only ASCII digits count: ``"²".isdigit()`` is true and ``int("٣")`` is 3, and ``int()``
    also takes signs, spaces, underscores and numbers of any size. Every number typed into a
    URL, a query string or a form is read here and nowhere else.
    """
    digits = len(str(high))
    if not text or len(text) > digits or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_id(text: str | None) -> int | None:
    """The record id (or page number) ``text`` names, or None: ASCII digits, 1 to 2**31 - 1."""
    return parse_number(text, low=1, high=MAX_ID)


def record_id(value: object) -> int:
    """``parse_id`` as a form field's ``coerce``: the id, or ValueError (the field's error).

    WTForms hands ``coerce`` the submitted text, and the int itself when it sets a default
    or the choices; both are held to the same range.

    :raises ValueError: when ``value`` names no record id.
    """
    if is_record_id(value):
        return value
    found = parse_id(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError("not a record id")
    return found


def optional_record_id(value: object) -> int | None:
    """:func:`record_id` for a select that may be left at "none chosen" (None)."""
    return None if value is None or value == "" else record_id(value)
