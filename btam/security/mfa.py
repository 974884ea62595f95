"""Time-based one-time passwords (RFC 6238) and one-time recovery codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pyotp
import segno

ISSUER = "BTAM"
STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10


def new_totp_secret() -> str:
    """A fresh 160-bit TOTP secret in base32, as authenticator apps expect."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI that an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as inline SVG, rendered here so the secret never leaves the server."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"))


def accept_totp(secret: str, code: str, *, last_step: int, now: float | None = None) -> int | None:
    """Check a six-digit code against the current step and one step either side.

    Returns the step the code belongs to, or None. A step at or before ``last_step`` is
    refused, so a code that has been used once cannot be replayed.
    """
    code = "".join(code.split())
    # isdigit() alone also takes Arabic-Indic, full-width and superscript digits.
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes of 80 random bits each, grouped for reading aloud and typing."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_code_digest(code: str) -> str:
    """Digest of a recovery code as typed; case, spaces and dashes do not matter.

    SHA-256 suffices here: each code carries 80 random bits, out of reach of guessing.
    """
    cleaned = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(cleaned.encode("ascii", "ignore")).hexdigest()
