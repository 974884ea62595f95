"""Finding a person again by blind index, or recording a new one.

A match is looked for among the people the actor may see (the policy's visible people) and
nowhere else: typing another school's student id must neither show that student nor tell
the actor that the id is known. Whoever it does not find, it records as a new person; the
team lead or a district-wide member merges duplicates later (:mod:`.merging`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from btam.access.policy import Access
from btam.access.refusal import refuse
from btam.cases import repository as case_repo
from btam.cases.services.guard import access_for
from btam.context import ServiceContext
from btam.errors import ValidationFailed
from btam.people import dto, repository
from btam.people.models import Person
from btam.people.terms import PersonKind
from btam.security.blind_index import PersonIndexes, normalize
from btam.security.keys import person_indexes

NAME_MAX = 100


STUDENT_NUMBER_MAX = 32


@dataclass(frozen=True)
class PersonData:
    """A person as typed into a form; ``person_id`` picks an existing person instead."""

    kind: PersonKind
    given_name: str = ""
    family_name: str = ""
    date_of_birth: date | None = None
    student_number: str = ""
    school_id: int | None = None
    person_id: int | None = None


def checked(data: PersonData) -> PersonData:
    """The person as typed, trimmed and checked (the same rules on every path).

    :raises ValidationFailed: no name or student id, too long, a student id for someone who
        is not a student, or a date of birth that cannot be.
    """
    given = data.given_name.strip()
    family = data.family_name.strip()
    number = data.student_number.strip()
    if not given and not family and not number:
        raise ValidationFailed("Give at least one name.", field="family_name")
    if len(given) > NAME_MAX or len(family) > NAME_MAX:
        raise ValidationFailed(f"Names are at most {NAME_MAX} characters.", field="family_name")
    if len(number) > STUDENT_NUMBER_MAX:
        raise ValidationFailed("That student id is too long.", field="student_number")
    if number and data.kind is not PersonKind.STUDENT:
        raise ValidationFailed("Only students have a student id.", field="student_number")
    if (
        data.date_of_birth is not None
        and not date(1900, 1, 1) <= data.date_of_birth <= date.today()
    ):
        raise ValidationFailed("Give a real date of birth.", field="date_of_birth")
    return PersonData(
        kind=data.kind,
        given_name=given,
        family_name=family,
        date_of_birth=data.date_of_birth,
        student_number=number,
        school_id=data.school_id,
    )


# One answer whether the id is known in another school or nowhere at all.
NAME_NEEDED = "No one you may see has that student id: give the person's name too."


def indexes_of(ctx: ServiceContext, data: PersonData) -> tuple[str | None, str | None]:
    """The blind indexes (student id, name and birth date) ``data`` gives, None where it
    lacks what one is made of."""
    return indexes_under(person_indexes(ctx.db), data)


def indexes_under(indexes: PersonIndexes, data: PersonData) -> tuple[str | None, str | None]:
    """:func:`indexes_of` under the given index keys."""
    by_number = indexes.student_id_index(data.student_number) if data.student_number else None
    by_name = None
    if data.date_of_birth is not None and (data.given_name or data.family_name):
        by_name = indexes.name_dob_index(
            given_name=data.given_name,
            family_name=data.family_name,
            date_of_birth=data.date_of_birth,
        )
    return by_number, by_name


class Named(Protocol):
    """A person's record or a report's mention of one: what a blind-index match is confirmed on."""

    kind: PersonKind

    @property
    def given_name(self) -> str | None: ...

    @property
    def family_name(self) -> str | None: ...

    @property
    def student_number(self) -> str | None: ...

    @property
    def date_of_birth(self) -> date | None: ...


def data_of(named: Named, *, school_id: int | None = None) -> PersonData:
    """A stored person, or a report's mention of one, as the data a match is made on."""
    return PersonData(
        kind=named.kind,
        given_name=named.given_name or "",
        family_name=named.family_name or "",
        date_of_birth=named.date_of_birth,
        student_number=named.student_number or "",
        school_id=school_id,
    )


def same_person(person: Named, data: PersonData, *, any_kind: bool = False) -> bool:
    """Confirm a blind-index candidate by decrypting it: the index alone proves nothing."""
    if not any_kind and person.kind is not data.kind:
        return False
    if data.student_number and person.student_number:
        return normalize(person.student_number) == normalize(data.student_number)
    return (
        data.date_of_birth is not None
        and person.date_of_birth == data.date_of_birth
        and normalize(person.given_name or "") == normalize(data.given_name)
        and normalize(person.family_name or "") == normalize(data.family_name)
    )


class Indexed(Protocol):
    """A record carrying the blind indexes of the person it names."""

    @property
    def student_id_index(self) -> str | None: ...

    @property
    def name_dob_index(self) -> str | None: ...


def ruled_out(candidate: Indexed, indexes: tuple[str | None, str | None]) -> bool:
    """Whether the indexes alone show that ``candidate`` is not the person ``indexes`` (of
    :func:`indexes_of`) name, by the rule :func:`same_person` applies, before decrypting it.

    Values equal after ``normalize`` have equal indexes, so different indexes mean different
    values: where :func:`same_person` compares student numbers, different student-id indexes
    rule the candidate out; where it compares names and birth date, different name indexes
    do. Equal indexes prove nothing (they are truncated): those candidates are decrypted.
    """
    by_number, by_name = indexes
    if by_number and candidate.student_id_index:
        return candidate.student_id_index != by_number
    return candidate.name_dob_index != by_name


def visible_matches(ctx: ServiceContext, access: Access, data: PersonData) -> list[Person]:
    """The people the actor may see that ``data`` names (blind index, then decrypted).

    ``data`` must have passed :func:`checked`.
    """
    by_number, by_name = indexes = indexes_of(ctx, data)
    return [
        candidate
        for candidate in repository.people_by_index(
            ctx.db,
            access,
            student_id_index=by_number,
            name_dob_index=by_name,
            keep=lambda candidate: not ruled_out(candidate, indexes),
        )
        if same_person(candidate, data)
    ]


def new_person(ctx: ServiceContext, data: PersonData, *, district_id: int) -> Person:
    """Record a new person as ``data`` names it (checked, with a name); the caller commits.

    :raises ValidationFailed: ``data`` gives no name.
    """
    if not data.given_name and not data.family_name:
        raise ValidationFailed(NAME_NEEDED, field="family_name")
    by_number, by_name = indexes_of(ctx, data)
    person = Person(
        district_id=district_id,
        kind=data.kind,
        school_id=data.school_id,
        given_name=data.given_name or None,
        family_name=data.family_name or None,
        date_of_birth_text=data.date_of_birth.isoformat() if data.date_of_birth else None,
        student_number=data.student_number or None,
        student_id_index=by_number,
        name_dob_index=by_name,
        created_at=ctx.now,
    )
    ctx.db.add(person)
    ctx.db.flush()
    return person


def find_or_create_person(ctx: ServiceContext, data: PersonData, *, district_id: int) -> Person:
    """The person ``data`` names: chosen by id (if visible), found among the people the
    actor may see, or new. The caller commits (with its audit entry).

    The answer never depends on people outside the actor's view: a student id known only in
    another school is treated as unknown.

    :raises NotFound: ``person_id`` names a person the actor may not see (recorded).
    :raises ValidationFailed: the person is not named well enough.
    """
    access = access_for(ctx)
    if data.person_id is not None:
        found = repository.person(ctx.db, access, data.person_id)
        if found is None:
            refuse(ctx, object_type="person", object_id=data.person_id, reason="not visible")
        return found
    clean = checked(data)
    matches = visible_matches(ctx, access, clean)
    if matches:
        return matches[0]
    return new_person(ctx, clean, district_id=district_id)


def party_views(ctx: ServiceContext, case_id: int) -> list[dto.PartyView]:
    return [
        dto.PartyView(person_id=person.id, name=person.full_name, kind=person.kind, part=party.part)
        for party, person in case_repo.parties(ctx.db, case_id)
    ]
