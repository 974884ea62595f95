"""Queries of people and their record of disclosures, each through a scope filter."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from btam.access.policy import Access, Act
from btam.cases import scope as case_scope
from btam.cases.models import (
    Case,
    CaseParty,
)
from btam.ids import is_record_id
from btam.intake.models import ReportMention, ReportPerson
from btam.people import scope as people_scope
from btam.people.models import PERSON_FIELDS, Disclosure, Person
from btam.security.fields import preload_keys


def person(
    db: Session, access: Access, person_id: int, *, for_disclosures: bool = False
) -> Person | None:
    """A person the actor may view (or, with ``for_disclosures``, whose disclosures it may)."""
    act = Act.VIEW_DISCLOSURES if for_disclosures else Act.VIEW_CASE
    allowed = people_scope.visible_person(access, act)
    return db.execute(select(Person).where(Person.id == person_id, allowed)).scalar_one_or_none()


def _index_match(student_id_index: str | None, name_dob_index: str | None) -> Any:
    clauses = []
    if student_id_index:
        clauses.append(Person.student_id_index == student_id_index)
    if name_dob_index:
        clauses.append(Person.name_dob_index == name_dob_index)
    return or_(*clauses) if clauses else None


def _candidates_scope(db: Session, access: Access) -> ColumnElement[bool]:
    # Hundreds of people share an index value. SQLite lists the people the actor may see
    # once and probes it per candidate; PostgreSQL would hash every party of the district
    # for that list, and checks each candidate instead. Both filters keep the same people.
    if db.get_bind().dialect.name == "sqlite":
        return people_scope.visible_people(access)
    return people_scope.visible_person(access)


def people_by_index(
    db: Session,
    access: Access,
    *,
    student_id_index: str | None,
    name_dob_index: str | None,
    keep: Callable[[Person], bool] | None = None,
) -> Sequence[Person]:
    """Candidates sharing a blind index value, among the people the actor may view, and
    passing ``keep`` (which sees only plain columns) when given.

    Never anyone else: who else in the district shares an index value is not the actor's to
    learn, not even as a yes or no.
    """
    match = _index_match(student_id_index, name_dob_index)
    if match is None:
        return []
    query = (
        select(Person)
        .where(match, Person.merged_into_id.is_(None), _candidates_scope(db, access))
        .order_by(Person.id)
    )
    found = [p for p in db.execute(query).scalars() if keep is None or keep(p)]
    # Each candidate is under its own person's key and is confirmed by decrypting it.
    preload_keys(found, *PERSON_FIELDS)
    return found


def people_by_indexes(
    db: Session,
    access: Access,
    *,
    student_id_indexes: Collection[str],
    name_dob_indexes: Collection[str],
    keep: Callable[[Person], bool] | None = None,
) -> Sequence[Person]:
    """Candidates sharing any of several blind index values, among the people the actor may
    view and passing ``keep`` when given, in one query (the triage queue's many mentions)."""
    clauses = []
    if student_id_indexes:
        clauses.append(Person.student_id_index.in_(sorted(student_id_indexes)))
    if name_dob_indexes:
        clauses.append(Person.name_dob_index.in_(sorted(name_dob_indexes)))
    if not clauses:
        return []
    query = (
        select(Person)
        .where(or_(*clauses), Person.merged_into_id.is_(None), _candidates_scope(db, access))
        .order_by(Person.id)
    )
    found = [p for p in db.execute(query).scalars() if keep is None or keep(p)]
    preload_keys(found, *PERSON_FIELDS)
    return found


def cases_of_people(
    db: Session, access: Access, person_ids: Collection[int]
) -> dict[int, list[tuple[Case, CaseParty]]]:
    """The visible cases of several people in one query, by person, newest first."""
    found: dict[int, list[tuple[Case, CaseParty]]] = {i: [] for i in person_ids}
    if not person_ids:
        return found
    rows = db.execute(
        select(Case, CaseParty)
        .join(CaseParty, CaseParty.case_id == Case.id)
        .where(
            CaseParty.person_id.in_(sorted(person_ids)),
            case_scope.visible_cases(access, Act.VIEW_CASE),
        )
        .order_by(Case.opened_at.desc())
    ).all()
    for case, party in rows:
        found[party.person_id].append((case, party))
    return found


def any_person(db: Session, person_id: int) -> Person | None:
    """The person row ``person_id`` whoever may see it: to follow a merged record's tombstone
    to the kept one, never to show."""
    return db.get(Person, person_id) if is_record_id(person_id) else None


def parties_of(db: Session, person_id: int) -> Sequence[CaseParty]:
    """Every part the person plays in any case (a merge moves them all)."""
    query = select(CaseParty).where(CaseParty.person_id == person_id).order_by(CaseParty.id)
    return db.execute(query).scalars().all()


def report_links_of(db: Session, person_id: int) -> Sequence[ReportPerson]:
    """Every report linked to the person (a merge moves them all)."""
    query = select(ReportPerson).where(ReportPerson.person_id == person_id)
    return db.execute(query.order_by(ReportPerson.id)).scalars().all()


def mentions_of(db: Session, person_id: int) -> Sequence[ReportMention]:
    """Every mention the team linked to the person (a merge moves them all)."""
    query = select(ReportMention).where(ReportMention.person_id == person_id)
    return db.execute(query.order_by(ReportMention.id)).scalars().all()


def cases_of_person(
    db: Session, access: Access, person_id: int
) -> Sequence[tuple[Case, CaseParty]]:
    rows = db.execute(
        select(Case, CaseParty)
        .join(CaseParty, CaseParty.case_id == Case.id)
        .where(CaseParty.person_id == person_id, case_scope.visible_cases(access, Act.VIEW_CASE))
        .order_by(Case.opened_at.desc())
    ).all()
    return [(c, p) for c, p in rows]


def disclosures_of(db: Session, person_id: int) -> Sequence[Disclosure]:
    return (
        db.execute(
            select(Disclosure)
            .where(Disclosure.person_id == person_id)
            .order_by(Disclosure.disclosed_at.desc(), Disclosure.id.desc())
        )
        .scalars()
        .all()
    )


def all_disclosures(db: Session, access: Access, *, limit: int = 200) -> Sequence[Disclosure]:
    return (
        db.execute(
            select(Disclosure)
            .where(people_scope.visible_disclosures(access))
            .order_by(Disclosure.disclosed_at.desc(), Disclosure.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
