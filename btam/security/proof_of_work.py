"""A proof of work the tip line asks of a browser while it is flooded (no third party, no cookie).

The server hands out a challenge it can check without storing it:

    challenge = "<issued, unix seconds>.<bits>.<16 hex random>.<32 hex HMAC of the rest>"

and the browser (``static/js/tip-proof.js``) finds an answer, a decimal counter, such that
SHA-256 of ``challenge + ":" + answer`` starts with ``bits`` zero bits: about ``2**bits``
hashes, a second or two in a browser at 18 bits. The server checks the HMAC, the age and the
hash in microseconds; that each challenge buys one tip only is the caller's to enforce (a
spent-challenge record, ``btam.intake.rate_limits.claim_proof``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

# A tipster may take a while to write; past this a challenge is stale.
LIFETIME = timedelta(hours=1)
# A challenge from a clock a little ahead is still taken.
SKEW = timedelta(minutes=2)
MAX_BITS = 32
MAX_ANSWER_DIGITS = 16


class ProofFailure(StrEnum):
    """Why an answer does not count (never shown: the tipster just gets a new challenge)."""

    MALFORMED = "malformed"
    FORGED = "forged"
    STALE = "stale"
    TOO_EASY = "too_easy"
    WRONG = "wrong"


@dataclass(frozen=True)
class Challenge:
    text: str
    bits: int
    issued_at: datetime

    @property
    def expires_at(self) -> datetime:
        return self.issued_at + LIFETIME


def _mac(secret: bytes, body: str) -> str:
    return hmac.new(secret, f"tip-proof\x00{body}".encode(), hashlib.sha256).hexdigest()[:32]


def issue(secret: bytes, *, bits: int, now: datetime) -> Challenge:
    """A new challenge of ``bits`` bits, signed with ``secret``."""
    bits = max(0, min(bits, MAX_BITS))
    body = f"{int(now.timestamp())}.{bits}.{secrets.token_hex(8)}"
    return Challenge(f"{body}.{_mac(secret, body)}", bits, now)


def leading_zero_bits(digest: bytes) -> int:
    """How many zero bits ``digest`` starts with."""
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def check(
    secret: bytes, challenge: str, answer: str, *, min_bits: int, now: datetime
) -> Challenge | ProofFailure:
    """The challenge ``answer`` solves, or why it does not count.

    Nothing here raises: any text may come in from a form.
    """
    parts = challenge.split(".")
    if len(parts) != 4 or not challenge.isascii():
        return ProofFailure.MALFORMED
    issued, bits_text, nonce, mac = parts
    if not (issued.isdigit() and bits_text.isdigit() and len(issued) <= 12 and len(bits_text) <= 2):
        return ProofFailure.MALFORMED
    if not (answer.isascii() and answer.isdigit() and len(answer) <= MAX_ANSWER_DIGITS):
        return ProofFailure.MALFORMED
    if not hmac.compare_digest(mac, _mac(secret, f"{issued}.{bits_text}.{nonce}")):
        return ProofFailure.FORGED
    issued_at = datetime.fromtimestamp(int(issued), UTC)
    if not (now - LIFETIME <= issued_at <= now + SKEW):
        return ProofFailure.STALE
    bits = int(bits_text)
    if bits < min_bits:
        return ProofFailure.TOO_EASY
    digest = hashlib.sha256(f"{challenge}:{answer}".encode()).digest()
    if leading_zero_bits(digest) < bits:
        return ProofFailure.WRONG
    return Challenge(challenge, bits, issued_at)


def solve(challenge: str, bits: int) -> str:
    """An answer to ``challenge`` (what the browser does; for tests and the command line)."""
    counter = 0
    while True:
        answer = str(counter)
        digest = hashlib.sha256(f"{challenge}:{answer}".encode()).digest()
        if leading_zero_bits(digest) >= bits:
            return answer
        counter += 1
