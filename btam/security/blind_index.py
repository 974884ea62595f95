"""Blind indexes: truncated keyed hashes that find a person's earlier records without decrypting.

Only two are kept, both about a person: the student id, and name + date of birth. Each is
HMAC-SHA256, under a key of its own derived from the blind-index root key (never a data key,
so rotating data keys leaves indexes valid), over the normalised, length-prefixed parts,
truncated to a number of bits chosen by :func:`choose_bits`.

Truncation is deliberate: several different people share each index value, so a stolen
table cannot confirm that a known person is in it. Lookups therefore return *candidates*;
the caller decrypts each candidate's fields and keeps only true matches.

This module imports neither Flask nor SQLAlchemy.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import struct
import unicodedata
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "MAX_BITS",
    "BlindIndexer",
    "PersonIndexes",
    "choose_bits",
    "derive_index_key",
    "normalize",
]

MAX_BITS: Final = 256
ROOT_KEY_SIZE: Final = 32
_INDEX_KEY_INFO: Final = b"btam/blind-index/v1/"


def normalize(value: str) -> str:
    """Return the form in which two spellings of the same value compare equal.

    Unicode NFKC (full-width and composed/decomposed forms agree), case folded, runs of
    whitespace collapsed to one space and the ends stripped. Accents are kept: "José" and
    "Jose" stay different.
    """
    # NFKC again after casefold: folding can un-normalise a few characters (Unicode's
    # NFKC_Casefold is defined the same way).
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return " ".join(folded.split())


def _length_prefixed(parts: tuple[str, ...]) -> bytes:
    # A 4-byte length before each part keeps ("ab", "c") and ("a", "bc") apart.
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += struct.pack(">I", len(raw))
        out += raw
    return bytes(out)


def derive_index_key(root_key: bytes, *, name: str) -> bytes:
    """Derive the key of one named blind index from the blind-index root key.

    Each index has its own key, so equal values in two indexes do not produce comparable
    outputs.

    :raises ValueError: the root key is not 32 bytes or the name is empty.
    """
    if not isinstance(root_key, bytes) or len(root_key) != ROOT_KEY_SIZE:
        raise ValueError(f"the blind-index root key must be {ROOT_KEY_SIZE} bytes")
    if not name:
        raise ValueError("a blind index needs a name")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        # The root key is uniformly random, so HKDF needs no salt (RFC 5869 section 3.1).
        salt=None,
        info=_INDEX_KEY_INFO + _length_prefixed((name,)),
    )
    return hkdf.derive(root_key)


class BlindIndexer:
    """Computes one blind index: HMAC-SHA256 of normalised parts, truncated to ``bits``."""

    __slots__ = ("_bits", "_key")

    def __init__(self, key: bytes, *, bits: int) -> None:
        """Prepare an index under ``key`` (from :func:`derive_index_key`) of ``bits`` bits.

        :raises ValueError: the key is shorter than 32 bytes or bits is not in 1..256.
        """
        if not isinstance(key, bytes) or len(key) < 32:
            raise ValueError("a blind index key must be at least 32 bytes")
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= MAX_BITS:
            raise ValueError(f"bits must be an integer in 1..{MAX_BITS}")
        self._key = key
        self._bits = bits

    @property
    def bits(self) -> int:
        """How many bits of the HMAC are kept."""
        return self._bits

    def __repr__(self) -> str:
        return f"BlindIndexer(bits={self._bits})"

    def index(self, *parts: str) -> str:
        """Return the index value of the parts as lower-case hex, ``ceil(bits / 4)`` digits.

        Equal after :func:`normalize` means equal index; different values may share an index
        too (truncation), so matches are candidates to confirm by decrypting.

        :raises ValueError: no parts given.
        :raises TypeError: a part is not a str.
        """
        if not parts:
            raise ValueError("nothing to index")
        for part in parts:
            if not isinstance(part, str):
                raise TypeError(f"index parts must be str, not {type(part).__name__}")
        message = _length_prefixed(tuple(normalize(part) for part in parts))
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        value = int.from_bytes(digest, "big") >> (MAX_BITS - self._bits)
        return format(value, f"0{(self._bits + 3) // 4}x")


class PersonIndexes:
    """The two blind indexes kept for a person: student id, and name + date of birth."""

    __slots__ = ("_name_dob", "_student_id")

    def __init__(self, root_key: bytes, *, student_id_bits: int, name_dob_bits: int) -> None:
        """Derive both index keys from the blind-index root key.

        Size the bits with ``choose_bits(rows, indexes=2)``: both indexes sit on the same row.

        :raises ValueError: the root key is not 32 bytes or a bit count is not in 1..256.
        """
        self._student_id = BlindIndexer(
            derive_index_key(root_key, name="person/student_id"), bits=student_id_bits
        )
        self._name_dob = BlindIndexer(
            derive_index_key(root_key, name="person/name_dob"), bits=name_dob_bits
        )

    def student_id_index(self, student_id: str) -> str:
        """Return the blind index of a student id.

        :raises ValueError: the student id is blank.
        """
        if not normalize(student_id):
            raise ValueError("a blank student id has no index")
        return self._student_id.index(student_id)

    def name_dob_index(
        self, *, given_name: str, family_name: str, date_of_birth: datetime.date
    ) -> str:
        """Return the blind index of a person's given name, family name and date of birth.

        Keyword-only so that given and family name cannot be swapped by position.

        :raises ValueError: both names are blank.
        :raises TypeError: the date of birth is a datetime or not a date.
        """
        # A datetime is a date whose isoformat() carries a time, which would never match.
        if isinstance(date_of_birth, datetime.datetime) or not isinstance(
            date_of_birth, datetime.date
        ):
            raise TypeError("date_of_birth must be a datetime.date")
        if not normalize(given_name) and not normalize(family_name):
            raise ValueError("a person without a name has no name index")
        return self._name_dob.index(given_name, family_name, date_of_birth.isoformat())


def choose_bits(planning_rows: int, *, indexes: int = 1) -> int:
    """Return the bits per blind index for a table expected to hold ``planning_rows`` rows.

    CipherSweet's bound: with R rows and L the total bits of all blind indexes on a row,
    the coincidence count R / 2**L should satisfy ``2 <= R / 2**L <= sqrt(R)``. The left
    side is the privacy guarantee (every index value is shared by at least two rows, so a
    stolen table cannot confirm one person); the right side bounds the candidates a lookup
    must decrypt. In integers: ``R >= 2**(L + 1)`` and ``R <= 4**L``. ``L = indexes * bits``.

    The result is the largest ``bits`` meeting the left side, so the fewest false positives
    that still keep two coincidences; whenever any ``bits`` meets both sides, it does too.
    For small tables (R of 5 to 7 with one index; similar small counts with several) no
    integer meets both, and the privacy side wins: the result still keeps two coincidences
    and lookups simply return many candidates, which for a handful of rows costs nothing.

    Overestimating R is the unsafe direction (fewer coincidences than planned), so when
    unsure, plan low: the cost is extra candidates to decrypt as the table grows.

    :raises ValueError: planning_rows or indexes below 1, or too few rows for even one bit
        per index to leave two coincidences (R < 2**(indexes + 1)): no blind index on such a
        table can hide anything, so none should be sized for it.
    """
    if isinstance(planning_rows, bool) or not isinstance(planning_rows, int) or planning_rows < 1:
        raise ValueError("planning_rows must be a positive integer")
    if isinstance(indexes, bool) or not isinstance(indexes, int) or indexes < 1:
        raise ValueError("indexes must be a positive integer")
    # R >= 2**(L + 1)  <=>  L + 1 <= floor(log2 R) = R.bit_length() - 1, exact in integers.
    bits = min((planning_rows.bit_length() - 2) // indexes, MAX_BITS)
    if bits < 1:
        raise ValueError(
            f"{planning_rows} rows are too few for {indexes} blind index(es): even one bit "
            "each would leave fewer than two rows per index value"
        )
    return bits
