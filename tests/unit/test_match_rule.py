"""The blind indexes rule a candidate out only where decrypting it would have too."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from btam.people.services.matching import PersonData, indexes_under, ruled_out, same_person
from btam.people.terms import PersonKind
from btam.security.blind_index import PersonIndexes

# Truncated hard, as in a real district, so that different people share index values.
INDEXES = PersonIndexes(b"k" * 32, student_id_bits=2, name_dob_bits=2)


@dataclass(frozen=True)
class Candidate:
    kind: PersonKind
    given_name: str
    family_name: str
    date_of_birth: date | None
    student_number: str
    student_id_index: str | None
    name_dob_index: str | None


def indexes(data: PersonData) -> tuple[str | None, str | None]:
    return indexes_under(INDEXES, data)


def people() -> list[PersonData]:
    found = []
    for given, family, born, number in itertools.product(
        ("Jordan", "JORDAN ", "Jordán", ""),
        ("Rivera", "Okafor", ""),
        (date(2010, 3, 14), date(2011, 1, 2), None),
        ("S-1", "s-1", "S-2", "S-3", ""),
    ):
        found.append(
            PersonData(
                kind=PersonKind.STUDENT,
                given_name=given,
                family_name=family,
                date_of_birth=born,
                student_number=number,
            )
        )
    return found


def test_a_candidate_ruled_out_by_its_indexes_is_never_the_same_person() -> None:
    everyone = people()
    shared = ruled = 0
    for wanted, stored in itertools.product(everyone, everyone):
        by_number, by_name = indexes(stored)
        candidate = Candidate(
            stored.kind,
            stored.given_name,
            stored.family_name,
            stored.date_of_birth,
            stored.student_number,
            by_number,
            by_name,
        )
        if ruled_out(candidate, indexes(wanted)):
            ruled += 1
            assert not same_person(candidate, wanted), (wanted, stored)
        elif not same_person(candidate, wanted):
            shared += 1  # equal indexes prove nothing: these are decrypted and refused
    # The rule does work, and the truncated indexes do leave look-alikes to decrypt.
    assert ruled > len(everyone) and shared > len(everyone)
