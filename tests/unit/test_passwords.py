"""Password rules (NIST SP 800-63B) and argon2id hashing."""

from __future__ import annotations

import pytest

from btam.security.passwords import (
    PasswordHashing,
    PasswordRules,
    common_passwords,
    temporary_password,
)

RULES = PasswordRules(min_length=15, max_length=128)


def test_the_common_password_list_has_at_least_ten_thousand_entries() -> None:
    assert len(common_passwords()) >= 10_000
    assert "password" in common_passwords()


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "Ünïcödé pässwörd with spaces",
        "x" * 10 + "yz!?" + "q" * 50,  # 64 characters
        "the quick brown fox jumps over the lazy dog " * 2 + "and then some more words!!",
        "ππππ σσσσ ωωωω λλλλ",
    ],
)
def test_long_passwords_without_composition_rules_are_accepted(password: str) -> None:
    assert RULES.problems(password) == []


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 15"),
        ("a" * 129, "at most 128"),
        ("passwordpassword", "most common"),
        ("123456789qwerty", "most common"),
        ("password12345678", "most common"),
        ("sunshine!!!!!!!!", "most common"),
        ("dragondragondragon", "most common"),
        ("1qaz2wsx3edc4rfv", "most common"),
        ("aaaaaaaaaaaaaaaaaaaa", "repeats"),
        ("abababababababababab", "repeats"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, problem: str) -> None:
    assert any(problem in p for p in RULES.problems(password))


def test_a_password_built_from_the_user_name_is_refused() -> None:
    problems = RULES.problems("jsmith.nhs-2026-spring!", context=("jsmith.nhs", "Jo Smith"))
    assert any("user name" in p for p in problems)


def test_hashing_uses_argon2id_with_the_given_parameters() -> None:
    hashing = PasswordHashing(time_cost=2, memory_kib=19 * 1024, parallelism=1)
    digest = hashing.hash("correct horse battery staple")
    assert digest.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in digest
    assert hashing.verify(digest, "correct horse battery staple")
    assert not hashing.verify(digest, "correct horse battery stapler")


def test_hashing_compares_unicode_in_normal_form() -> None:
    hashing = PasswordHashing(time_cost=1, memory_kib=8, parallelism=1)
    composed = "caf\u00e9 au lait sans sucre"
    decomposed = "cafe\u0301 au lait sans sucre"
    assert hashing.verify(hashing.hash(composed), decomposed)


def test_an_unknown_user_costs_a_verification_and_fails() -> None:
    hashing = PasswordHashing(time_cost=1, memory_kib=8, parallelism=1)
    assert not hashing.verify(None, "anything at all here")
    assert not hashing.verify("not-a-hash", "anything at all here")


def test_changed_parameters_ask_for_a_rehash() -> None:
    old = PasswordHashing(time_cost=1, memory_kib=8, parallelism=1).hash("some long passphrase")
    assert PasswordHashing(time_cost=2, memory_kib=19 * 1024, parallelism=1).needs_rehash(old)


def test_temporary_passwords_are_long_random_and_acceptable() -> None:
    first, second = temporary_password(), temporary_password()
    assert first != second
    assert RULES.problems(first) == []
