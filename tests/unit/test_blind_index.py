"""Blind indexes: normalisation, keyed truncated HMAC, and the CipherSweet sizing bound."""

from __future__ import annotations

import datetime
import hashlib
import math
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btam.security.blind_index import (
    BlindIndexer,
    PersonIndexes,
    choose_bits,
    derive_index_key,
    normalize,
)

ROOT = bytes(range(32))
DOB = datetime.date(2009, 3, 14)


def people(root: bytes = ROOT, bits: int = 64) -> PersonIndexes:
    return PersonIndexes(root, student_id_bits=bits, name_dob_bits=bits)


# --------------------------------------------------------------------------- normalize


@pytest.mark.parametrize(
    ("spelled", "canonical"),
    [
        ("  José  Núñez ", "josé núñez"),
        ("JOSÉ\tNÚÑEZ\n", "josé núñez"),
        # Decomposed accents (e + combining acute) compose under NFKC.
        ("Jose\u0301 Nu\u0301n\u0303ez", "josé núñez"),
        # Full-width letters and digits, as typed on some East Asian keyboards.
        ("\uff2a\uff4f\uff53\uff45 \uff11\uff12\uff13", "jose 123"),
        ("Stra\u00dfe", "strasse"),
        ("no\u00a0break", "no break"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_makes_spellings_of_one_value_equal(spelled: str, canonical: str) -> None:
    assert normalize(spelled) == canonical


def test_normalize_keeps_accents_and_inner_order() -> None:
    assert normalize("José") != normalize("Jose")
    assert normalize("Ana Maria") != normalize("Maria Ana")


@given(st.text())
def test_normalize_is_idempotent(value: str) -> None:
    assert normalize(normalize(value)) == normalize(value)


# --------------------------------------------------------------------------- indexes


def test_equal_after_normalisation_gives_equal_index() -> None:
    persons = people()
    assert persons.name_dob_index(
        given_name="  José ", family_name="Núñez ", date_of_birth=DOB
    ) == persons.name_dob_index(
        given_name="josé", family_name="NU\u0301N\u0303EZ", date_of_birth=DOB
    )
    assert persons.student_id_index(" s-00123 ") == persons.student_id_index("S-00123")
    assert persons.student_id_index("\uff33-00123") == persons.student_id_index("s-00123")


def test_different_values_give_different_indexes() -> None:
    persons = people()
    assert persons.student_id_index("S-00123") != persons.student_id_index("S-00124")
    base = {"given_name": "Ana", "family_name": "Lee", "date_of_birth": DOB}
    index = persons.name_dob_index(**base)  # type: ignore[arg-type]
    assert index != persons.name_dob_index(**{**base, "date_of_birth": datetime.date(2009, 3, 15)})  # type: ignore[arg-type]
    assert index != persons.name_dob_index(**{**base, "given_name": "Lee", "family_name": "Ana"})  # type: ignore[arg-type]


def test_different_root_keys_give_different_indexes() -> None:
    a, b = people(ROOT), people(os.urandom(32))
    assert a.student_id_index("S-00123") != b.student_id_index("S-00123")
    assert a.name_dob_index(
        given_name="Ana", family_name="Lee", date_of_birth=DOB
    ) != b.name_dob_index(given_name="Ana", family_name="Lee", date_of_birth=DOB)


def test_different_index_keys_give_different_indexes() -> None:
    a = BlindIndexer(derive_index_key(ROOT, name="a"), bits=64)
    b = BlindIndexer(derive_index_key(ROOT, name="b"), bits=64)
    assert a.index("S-00123") != b.index("S-00123")


def test_the_two_person_indexes_use_different_keys() -> None:
    persons = people(bits=256)
    indexer = BlindIndexer(derive_index_key(ROOT, name="person/student_id"), bits=256)
    assert persons.student_id_index("x") == indexer.index("x")
    other = BlindIndexer(derive_index_key(ROOT, name="person/name_dob"), bits=256)
    assert persons.student_id_index("x") != other.index("x")


def test_part_boundaries_matter() -> None:
    indexer = BlindIndexer(derive_index_key(ROOT, name="t"), bits=128)
    assert indexer.index("ab", "c") != indexer.index("a", "bc")
    assert indexer.index("a", "") != indexer.index("a")
    assert indexer.index("a b") != indexer.index("a", "b")
    persons = people()
    assert persons.name_dob_index(
        given_name="Mary Ann", family_name="Lee", date_of_birth=DOB
    ) != persons.name_dob_index(given_name="Mary", family_name="Ann Lee", date_of_birth=DOB)


def test_index_is_not_a_plain_hash_of_the_input() -> None:
    indexer = BlindIndexer(derive_index_key(ROOT, name="person/student_id"), bits=256)
    value = indexer.index("S-00123")
    for candidate in (b"S-00123", b"s-00123", b"\x00\x00\x00\x07s-00123"):
        assert value != hashlib.sha256(candidate).hexdigest()
    assert value != hashlib.sha256(ROOT + b"s-00123").hexdigest()


@pytest.mark.parametrize("bits", [1, 4, 7, 8, 13, 16, 32, 255, 256])
def test_index_is_hex_of_exactly_the_requested_bits(bits: int) -> None:
    indexer = BlindIndexer(derive_index_key(ROOT, name="t"), bits=bits)
    values = [indexer.index(str(n)) for n in range(200)]
    assert all(len(v) == math.ceil(bits / 4) for v in values)
    assert all(int(v, 16) < 2**bits for v in values)
    if bits <= 4:
        # With so few bits, 200 inputs must collide: truncation yields candidates, not matches.
        assert len(set(values)) <= 2**bits


def test_truncation_is_a_prefix_of_the_full_hmac() -> None:
    key = derive_index_key(ROOT, name="t")
    full = int(BlindIndexer(key, bits=256).index("x"), 16)
    assert int(BlindIndexer(key, bits=20).index("x"), 16) == full >> 236


def test_blank_and_ill_typed_inputs_are_refused() -> None:
    persons = people()
    with pytest.raises(ValueError):
        persons.student_id_index("  ")
    with pytest.raises(ValueError):
        persons.name_dob_index(given_name=" ", family_name="", date_of_birth=DOB)
    with pytest.raises(TypeError):
        persons.name_dob_index(
            given_name="Ana", family_name="Lee", date_of_birth=datetime.datetime(2009, 3, 14)
        )
    with pytest.raises(ValueError):
        BlindIndexer(derive_index_key(ROOT, name="t"), bits=64).index()
    with pytest.raises(ValueError):
        BlindIndexer(b"short", bits=64)
    with pytest.raises(ValueError):
        BlindIndexer(ROOT, bits=0)
    with pytest.raises(ValueError):
        BlindIndexer(ROOT, bits=257)
    with pytest.raises(ValueError):
        derive_index_key(b"x" * 31, name="t")


# --------------------------------------------------------------------------- choose_bits


def meets_bound(rows: int, total_bits: int) -> bool:
    """2 <= rows / 2**L <= sqrt(rows), in exact integers."""
    return rows >= 2 ** (total_bits + 1) and rows <= 4**total_bits


@given(rows=st.integers(min_value=8, max_value=10**15))
def test_choose_bits_meets_the_bound_for_one_index(rows: int) -> None:
    bits = choose_bits(rows)
    assert meets_bound(rows, bits)
    coincidences = rows / 2**bits
    assert 2 <= coincidences <= math.sqrt(rows) * (1 + 1e-12)
    # The largest such size: one more bit would leave fewer than two coincidences.
    assert not meets_bound(rows, bits + 1)


@given(extra_rows=st.integers(min_value=0, max_value=10**15), indexes=st.integers(1, 4))
def test_choose_bits_meets_the_bound_whenever_it_can(extra_rows: int, indexes: int) -> None:
    # Fewer than 2**(indexes + 1) rows cannot keep two coincidences at one bit per index.
    rows = 2 ** (indexes + 1) + extra_rows
    bits = choose_bits(rows, indexes=indexes)
    assert bits >= 1
    # The privacy side always holds.
    assert rows >= 2 ** (indexes * bits + 1)
    feasible = [b for b in range(1, 64) if meets_bound(rows, indexes * b)]
    if feasible:
        assert bits == max(feasible)


@pytest.mark.parametrize(
    ("rows", "bits"),
    [(4, 1), (5, 1), (7, 1), (8, 2), (16, 3), (1_000, 8), (10_000, 12), (1_000_000, 18)],
)
def test_choose_bits_examples(rows: int, bits: int) -> None:
    assert choose_bits(rows) == bits


def test_choose_bits_splits_the_bound_across_indexes_on_one_row() -> None:
    assert choose_bits(1_000_000, indexes=2) == 9
    assert choose_bits(10_000, indexes=2) == 6


@pytest.mark.parametrize(("rows", "indexes"), [(0, 1), (1, 1), (3, 1), (7, 2), (-5, 1), (100, 0)])
def test_choose_bits_refuses_what_no_size_can_protect(rows: int, indexes: int) -> None:
    with pytest.raises(ValueError):
        choose_bits(rows, indexes=indexes)


@given(indexes=st.integers(1, 8), data=st.data())
def test_choose_bits_refuses_exactly_below_two_coincidences_at_one_bit(
    indexes: int, data: st.DataObject
) -> None:
    rows = data.draw(st.integers(min_value=1, max_value=2 ** (indexes + 1) - 1))
    with pytest.raises(ValueError):
        choose_bits(rows, indexes=indexes)
    assert choose_bits(2 ** (indexes + 1), indexes=indexes) == 1
