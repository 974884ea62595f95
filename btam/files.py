"""Uploaded files: the types and size the system accepts, checked by their content."""

from __future__ import annotations

from dataclasses import dataclass

from btam.errors import ValidationFailed

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024


ATTACHMENT_TYPES = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "text/plain": (),
}


def check_file(content_type: str, data: bytes) -> None:
    """Refuse a file that is empty, too large, of another type, or not what it says it is."""
    if not data:
        raise ValidationFailed("The file is empty.", field="file")
    if len(data) > ATTACHMENT_MAX_BYTES:
        raise ValidationFailed("Files are limited to 10 MiB.", field="file")
    signatures = ATTACHMENT_TYPES.get(content_type)
    if signatures is None:
        raise ValidationFailed("Attach a PDF, PNG, JPEG or plain text file.", field="file")
    if signatures and not any(data.startswith(s) for s in signatures):
        raise ValidationFailed("The file's content does not match its type.", field="file")
    if content_type == "text/plain":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("A text file must be UTF-8.", field="file") from None


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes
