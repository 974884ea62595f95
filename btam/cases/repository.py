"""The only code that queries the case tables; every lookup goes through a scope filter.

Functions take the actor's :class:`~btam.access.policy.Access` and return rows the policy
lets it see, or None: a case number or id outside the actor's view is the same as one that
does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from btam.access.policy import Access, Act, CaseFacts
from btam.accounts.models import User
from btam.cases import scope as case_scope
from btam.cases.models import (
    Attachment,
    Case,
    CaseCounter,
    CaseMember,
    CaseParty,
    CaseStatusChange,
    EmergencyGrant,
    Note,
)
from btam.ids import is_record_id
from btam.intake.models import (
    Report,
)
from btam.people.models import PERSON_FIELDS, Person
from btam.plans.models import PlanItem
from btam.security.fields import preload_keys


def active_grants(db: Session, user_id: int, now: datetime) -> frozenset[int]:
    """Cases an unexpired, unended emergency grant lets the user read."""
    rows = db.execute(
        select(EmergencyGrant.case_id).where(
            EmergencyGrant.user_id == user_id,
            EmergencyGrant.expires_at > now,
            EmergencyGrant.ended_at.is_(None),
        )
    ).scalars()
    return frozenset(rows)


def facts(db: Session, case: Case) -> CaseFacts:
    members = db.execute(
        select(CaseMember.user_id).where(
            CaseMember.case_id == case.id, CaseMember.removed_at.is_(None)
        )
    ).scalars()
    assignees = db.execute(select(PlanItem.owner_id).where(PlanItem.case_id == case.id)).scalars()
    return CaseFacts(
        case_id=case.id,
        school_id=case.school_id,
        team_id=case.team_id,
        lead_id=case.lead_id,
        member_ids=frozenset(members),
        assignee_ids=frozenset(assignees),
    )


def facts_of_cases(db: Session, cases: Sequence[Case]) -> dict[int, CaseFacts]:
    """The facts of several cases for the policy, in two queries whatever their number."""
    ids = [c.id for c in cases]
    members: dict[int, set[int]] = {i: set() for i in ids}
    assignees: dict[int, set[int]] = {i: set() for i in ids}
    if ids:
        for case_id, user_id in db.execute(
            select(CaseMember.case_id, CaseMember.user_id).where(
                CaseMember.case_id.in_(ids), CaseMember.removed_at.is_(None)
            )
        ):
            members[case_id].add(user_id)
        for case_id, user_id in db.execute(
            select(PlanItem.case_id, PlanItem.owner_id).where(PlanItem.case_id.in_(ids))
        ):
            assignees[case_id].add(user_id)
    return {
        c.id: CaseFacts(
            case_id=c.id,
            school_id=c.school_id,
            team_id=c.team_id,
            lead_id=c.lead_id,
            member_ids=frozenset(members[c.id]),
            assignee_ids=frozenset(assignees[c.id]),
        )
        for c in cases
    }


def case_by_number(db: Session, access: Access, number: str, act: Act) -> Case | None:
    """The case with ``number`` if the policy lets the actor ``act`` on it."""
    return db.execute(
        select(Case).where(Case.number == number, case_scope.visible_cases(access, act))
    ).scalar_one_or_none()


def case_by_id(db: Session, case_id: int) -> Case:
    """A case the caller already holds the id of (it was just made, or its row names it)."""
    return db.get_one(Case, case_id)


def case_exists(db: Session, number: str) -> Case | None:
    """Any case with ``number``, for the emergency-grant form only (the policy decides next)."""
    return db.execute(select(Case).where(Case.number == number)).scalar_one_or_none()


def visible_cases(db: Session, access: Access, *, include_closed: bool = True) -> Sequence[Case]:
    query = select(Case).where(case_scope.visible_cases(access, Act.VIEW_HEADER))
    if not include_closed:
        query = query.where(Case.closed_at.is_(None))
    return db.execute(query.order_by(Case.opened_at.desc(), Case.id.desc())).scalars().all()


def visible_cases_page(
    db: Session, access: Access, *, offset: int, limit: int
) -> tuple[Sequence[Case], int]:
    """One page of the cases whose header the actor may see, newest first, and their count.

    Ordered by opening time and id, so a page holds the same cases however often it is read.
    """
    allowed = case_scope.visible_cases(access, Act.VIEW_HEADER)
    total = db.execute(select(func.count()).select_from(Case).where(allowed)).scalar_one()
    rows = (
        db.execute(
            select(Case)
            .where(allowed)
            .order_by(Case.opened_at.desc(), Case.id.desc())
            .offset(offset)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    return rows, total


def next_case_number(db: Session, district_id: int, year: int) -> str:
    """Take the next number of the district's year, inside the caller's transaction.

    The UPDATE takes the row's write lock (PostgreSQL) or the database's (SQLite BEGIN
    IMMEDIATE), so two workers never get the same number.
    """
    changed = db.execute(  # type: ignore[attr-defined]
        update(CaseCounter)
        .where(CaseCounter.district_id == district_id, CaseCounter.year == year)
        .values(last=CaseCounter.last + 1)
    ).rowcount
    if not changed:
        db.add(CaseCounter(district_id=district_id, year=year, last=1))
        db.flush()
    last = db.execute(
        select(CaseCounter.last).where(
            CaseCounter.district_id == district_id, CaseCounter.year == year
        )
    ).scalar_one()
    return f"{year}-{last:04d}"


def parties(db: Session, case_id: int) -> Sequence[tuple[CaseParty, Person]]:
    return parties_of_cases(db, [case_id])[case_id]


def preload_person_names(people: Sequence[Person]) -> None:
    """Unwrap the keys of these people's records in one query (each has a key of its own)."""
    preload_keys(people, *PERSON_FIELDS)


def parties_of_cases(
    db: Session, case_ids: Sequence[int], *, names: bool = True
) -> dict[int, list[tuple[CaseParty, Person]]]:
    """The parties of each of these cases (every id a key), in the order they were added;
    without ``names``, the caller decrypts those it needs (:func:`preload_person_names`)."""
    found: dict[int, list[tuple[CaseParty, Person]]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return found
    rows = db.execute(
        select(CaseParty, Person)
        .join(Person, Person.id == CaseParty.person_id)
        .where(CaseParty.case_id.in_(sorted(set(case_ids))))
        .order_by(CaseParty.id)
    ).all()
    if names:
        preload_person_names([person for _party, person in rows])
    for party, person in rows:
        found[party.case_id].append((party, person))
    return found


def notes(db: Session, access: Access, case_id: int) -> Sequence[Note]:
    """The case's notes the actor may read."""
    query = (
        select(Note)
        .where(Note.case_id == case_id, case_scope.visible_notes(access))
        .order_by(Note.created_at, Note.id)
    )
    return db.execute(query).scalars().all()


def hidden_notes(db: Session, access: Access, case_id: int) -> Sequence[Note]:
    """Counseling and law-enforcement notes the actor may not read: only their summaries show."""
    query = (
        select(Note)
        .where(Note.case_id == case_id, ~case_scope.visible_notes(access))
        .order_by(Note.created_at, Note.id)
    )
    return db.execute(query).scalars().all()


def attachments(db: Session, access: Access, case_id: int) -> Sequence[Attachment]:
    query = (
        select(Attachment)
        .where(Attachment.case_id == case_id, case_scope.visible_attachments(access))
        .order_by(Attachment.id)
    )
    return db.execute(query).scalars().all()


def attachment(db: Session, access: Access, case_id: int, attachment_id: int) -> Attachment | None:
    query = select(Attachment).where(
        Attachment.case_id == case_id,
        Attachment.id == attachment_id,
        case_scope.visible_attachments(access),
    )
    return db.execute(query).scalar_one_or_none()


def members(db: Session, case_id: int) -> Sequence[tuple[CaseMember, User]]:
    rows = db.execute(
        select(CaseMember, User)
        .join(User, User.id == CaseMember.user_id)
        .where(CaseMember.case_id == case_id, CaseMember.removed_at.is_(None))
        .order_by(User.display_name)
    ).all()
    return [(m, u) for m, u in rows]


def member(db: Session, case_id: int, user_id: int) -> CaseMember | None:
    return db.execute(
        select(CaseMember).where(CaseMember.case_id == case_id, CaseMember.user_id == user_id)
    ).scalar_one_or_none()


def grants(db: Session, case_id: int) -> Sequence[EmergencyGrant]:
    return (
        db.execute(
            select(EmergencyGrant)
            .where(EmergencyGrant.case_id == case_id)
            .order_by(EmergencyGrant.granted_at.desc())
        )
        .scalars()
        .all()
    )


def grant(db: Session, grant_id: int) -> EmergencyGrant | None:
    return db.get(EmergencyGrant, grant_id) if is_record_id(grant_id) else None


def grant_taken(db: Session, case_id: int, user_id: int, before: datetime) -> EmergencyGrant | None:
    """The grant ``user_id`` took on ``case_id`` last before ``before`` (its audit entry's time)."""
    return db.execute(
        select(EmergencyGrant)
        .where(
            EmergencyGrant.case_id == case_id,
            EmergencyGrant.user_id == user_id,
            EmergencyGrant.granted_at <= before,
        )
        .order_by(EmergencyGrant.granted_at.desc(), EmergencyGrant.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def case_numbers(db: Session, case_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(case_ids))
    if not wanted:
        return {}
    rows = db.execute(select(Case.id, Case.number).where(Case.id.in_(wanted)))
    return {row.id: row.number for row in rows}


def reports_of_case(db: Session, case_id: int) -> Sequence[Report]:
    query = select(Report).where(Report.case_id == case_id).order_by(Report.received_at)
    return db.execute(query).scalars().all()


def status_changes(db: Session, case_id: int) -> Sequence[CaseStatusChange]:
    """The case's history of status and level, oldest first."""
    query = select(CaseStatusChange).where(CaseStatusChange.case_id == case_id)
    return (
        db.execute(query.order_by(CaseStatusChange.changed_at, CaseStatusChange.id)).scalars().all()
    )


def count_in_district(db: Session, district_id: int) -> int:
    """How many cases the district has (the demo loads into a district with none)."""
    query = select(func.count(Case.id)).where(Case.district_id == district_id)
    return int(db.execute(query).scalar_one())
