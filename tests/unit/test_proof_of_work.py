"""The tip line's proof of work: what counts as an answer, and what never does."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from btam.security import proof_of_work as pow_
from btam.security.proof_of_work import ProofFailure

SECRET = b"k" * 32
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def solved(bits: int = 8) -> tuple[str, str]:
    challenge = pow_.issue(SECRET, bits=bits, now=NOW).text
    return challenge, pow_.solve(challenge, bits)


def test_an_answer_is_a_number_whose_hash_starts_with_the_asked_zero_bits() -> None:
    challenge, answer = solved(10)
    digest = hashlib.sha256(f"{challenge}:{answer}".encode()).digest()
    assert pow_.leading_zero_bits(digest) >= 10
    checked = pow_.check(SECRET, challenge, answer, min_bits=10, now=NOW + timedelta(minutes=5))
    assert isinstance(checked, pow_.Challenge)
    assert checked.expires_at == NOW.replace(microsecond=0) + pow_.LIFETIME


def test_a_wrong_answer_a_forged_a_stale_or_an_easier_challenge_does_not_count() -> None:
    challenge, answer = solved(8)
    wrong = next(
        str(n)
        for n in range(10_000)
        if pow_.leading_zero_bits(hashlib.sha256(f"{challenge}:{n}".encode()).digest()) < 8
    )
    assert pow_.check(SECRET, challenge, wrong, min_bits=8, now=NOW) is ProofFailure.WRONG
    assert pow_.check(b"x" * 32, challenge, answer, min_bits=8, now=NOW) is ProofFailure.FORGED
    issued, bits, nonce, mac = challenge.split(".")
    harder = f"{issued}.{int(bits) + 1}.{nonce}.{mac}"
    assert pow_.check(SECRET, harder, answer, min_bits=8, now=NOW) is ProofFailure.FORGED
    later = NOW + pow_.LIFETIME + timedelta(seconds=1)
    assert pow_.check(SECRET, challenge, answer, min_bits=8, now=later) is ProofFailure.STALE
    earlier = NOW - pow_.SKEW - timedelta(seconds=1)
    assert pow_.check(SECRET, challenge, answer, min_bits=8, now=earlier) is ProofFailure.STALE
    assert pow_.check(SECRET, challenge, answer, min_bits=9, now=NOW) is ProofFailure.TOO_EASY


@given(challenge=st.text(max_size=120), answer=st.text(max_size=40))
def test_anything_typed_into_the_form_is_refused_without_an_error(
    challenge: str, answer: str
) -> None:
    assert isinstance(pow_.check(SECRET, challenge, answer, min_bits=1, now=NOW), ProofFailure)


@given(answer=st.sampled_from(["", "-1", "+1", " 1", "²", "1" * 17, "0x10", "1e3"]))
def test_an_answer_is_ascii_digits_only(answer: str) -> None:
    challenge, _ = solved(1)
    assert pow_.check(SECRET, challenge, answer, min_bits=1, now=NOW) is ProofFailure.MALFORMED
