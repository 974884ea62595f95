"""Password hashing (argon2id) and the password rules: length and a list of common passwords.

Following NIST SP 800-63B: long passwords, no composition rules, refuse the ones attackers
try first.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of public breach corpora, shipped with zxcvbn."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # heavy module: load on first use

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def _is_common(folded: str) -> bool:
    """A listed password, or one padded to length with digits or repeated: guessed first."""
    common = common_passwords()
    stem = folded.strip()
    if stem in common or stem.rstrip("0123456789!?.@#$%&*-_ ") in common:
        return True
    for times in (2, 3, 4):
        size, rest = divmod(len(stem), times)
        if not rest and stem == stem[:size] * times and stem[:size] in common:
            return True
    return False


@dataclass(frozen=True)
class PasswordRules:
    min_length: int
    max_length: int

    def problems(self, password: str, *, context: tuple[str, ...] = ()) -> list[str]:
        """List what is wrong with a new password (empty when it is acceptable).

        ``context`` holds words an attacker would try for this account (user name, name).
        """
        normalised = _normalise(password)
        found: list[str] = []
        if len(normalised) < self.min_length:
            found.append(f"Use at least {self.min_length} characters.")
        if len(normalised) > self.max_length:
            found.append(f"Use at most {self.max_length} characters.")
        folded = normalised.casefold()
        if _is_common(folded):
            found.append("This password is among the most common ones; choose another.")
        elif len(set(folded)) < 4:
            found.append("This password repeats too few characters; choose another.")
        elif any(word and len(word) >= 4 and word.casefold() in folded for word in context):
            found.append("Do not build the password from your user name or your name.")
        return found


class PasswordHashing:
    """argon2id hashing with the parameters of the settings."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Verified against when the user name is unknown, so that a miss takes as long as a hit.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """Hash a password with a fresh salt."""
        return self._hasher.hash(_normalise(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Answer whether ``password`` matches; an absent hash still costs one verification."""
        try:
            return self._hasher.verify(
                password_hash or self._dummy_hash, _normalise(password)
            ) and (password_hash is not None)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Answer whether the hash was made with other parameters than today's."""
        return self._hasher.check_needs_rehash(password_hash)


# No 0/o, 1/l/i: the password is read aloud or copied from a screen.
_READABLE = "abcdefghjkmnpqrstuvwxyz23456789"


def temporary_password() -> str:
    """A random password (about 98 bits) for a new or reset account, changed at first sign-in."""
    groups = ("".join(secrets.choice(_READABLE) for _ in range(5)) for _ in range(4))
    return "-".join(groups)
