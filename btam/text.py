"""Typed text as services accept it: trimmed, bounded, required or not."""

from __future__ import annotations

from btam.errors import ValidationFailed


def clean_text(value: str | None, *, field: str, limit: int, required: bool = False) -> str | None:
    """The typed text without surrounding space, or None when empty.

    :raises ValidationFailed: empty but required, or longer than ``limit``.
    """
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed("This field is required.", field=field)
        return None
    if len(text) > limit:
        raise ValidationFailed(f"At most {limit:,} characters.", field=field)
    return text
