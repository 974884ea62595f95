"""The only code that queries the case tables; every lookup goes through a policy filter.

Functions take the actor's :class:`~btam.security.policy.Access` and return rows the policy
lets it see, or None: a case number or id outside the actor's view is the same as one that
does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from btam.accounts.models import School, Team, User, team_schools
from btam.cases.intake_models import (
    Report,
    ReportAction,
    ReportAttachment,
    ReportPerson,
    TipAccess,
    TipMessage,
)
from btam.cases.models import (
    Assignment,
    Attachment,
    Case,
    CaseCounter,
    CaseMember,
    CaseParty,
    Disclosure,
    EmergencyGrant,
    Note,
    Person,
)
from btam.cases.terms import ReportStatus
from btam.security import policy
from btam.security.actor import Role
from btam.security.policy import Access, Act, CaseFacts, ReportFacts


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
    assignees = db.execute(
        select(Assignment.user_id).where(Assignment.case_id == case.id)
    ).scalars()
    return CaseFacts(
        case_id=case.id,
        school_id=case.school_id,
        team_id=case.team_id,
        lead_id=case.lead_id,
        member_ids=frozenset(members),
        assignee_ids=frozenset(assignees),
    )


def case_by_number(db: Session, access: Access, number: str, act: Act) -> Case | None:
    """The case with ``number`` if the policy lets the actor ``act`` on it."""
    return db.execute(
        select(Case).where(Case.number == number, policy.visible_cases(access, act))
    ).scalar_one_or_none()


def case_exists(db: Session, number: str) -> Case | None:
    """Any case with ``number``, for the emergency-grant form only (the policy decides next)."""
    return db.execute(select(Case).where(Case.number == number)).scalar_one_or_none()


def visible_cases(db: Session, access: Access, *, include_closed: bool = True) -> Sequence[Case]:
    query = select(Case).where(policy.visible_cases(access, Act.VIEW_HEADER))
    if not include_closed:
        query = query.where(Case.closed_at.is_(None))
    return db.execute(query.order_by(Case.opened_at.desc(), Case.id.desc())).scalars().all()


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
    rows = db.execute(
        select(CaseParty, Person)
        .join(Person, Person.id == CaseParty.person_id)
        .where(CaseParty.case_id == case_id)
        .order_by(CaseParty.id)
    ).all()
    return [(party, person) for party, person in rows]


def notes(db: Session, access: Access, case_id: int) -> Sequence[Note]:
    """The case's notes the actor may read."""
    query = (
        select(Note)
        .where(Note.case_id == case_id, policy.visible_notes(access))
        .order_by(Note.created_at, Note.id)
    )
    return db.execute(query).scalars().all()


def hidden_notes(db: Session, access: Access, case_id: int) -> Sequence[Note]:
    """Counseling and law-enforcement notes the actor may not read: only their summaries show."""
    query = (
        select(Note)
        .where(Note.case_id == case_id, ~policy.visible_notes(access))
        .order_by(Note.created_at, Note.id)
    )
    return db.execute(query).scalars().all()


def attachments(db: Session, access: Access, case_id: int) -> Sequence[Attachment]:
    query = (
        select(Attachment)
        .where(Attachment.case_id == case_id, policy.visible_attachments(access))
        .order_by(Attachment.id)
    )
    return db.execute(query).scalars().all()


def attachment(db: Session, access: Access, case_id: int, attachment_id: int) -> Attachment | None:
    query = select(Attachment).where(
        Attachment.case_id == case_id,
        Attachment.id == attachment_id,
        policy.visible_attachments(access),
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


def assignments(db: Session, case_id: int, user_id: int | None = None) -> Sequence[Assignment]:
    query = select(Assignment).where(Assignment.case_id == case_id)
    if user_id is not None:
        query = query.where(Assignment.user_id == user_id)
    return db.execute(query.order_by(Assignment.id)).scalars().all()


def assignment(db: Session, case_id: int, assignment_id: int) -> Assignment | None:
    return db.execute(
        select(Assignment).where(Assignment.case_id == case_id, Assignment.id == assignment_id)
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
    return db.get(EmergencyGrant, grant_id) if _id_ok(grant_id) else None


def person(
    db: Session, access: Access, person_id: int, *, for_disclosures: bool = False
) -> Person | None:
    """A person the actor may view (or, with ``for_disclosures``, whose disclosures it may)."""
    act = Act.VIEW_DISCLOSURES if for_disclosures else Act.VIEW_CASE
    allowed = policy.visible_people(access, act)
    return db.execute(select(Person).where(Person.id == person_id, allowed)).scalar_one_or_none()


def _index_match(student_id_index: str | None, name_dob_index: str | None) -> Any:
    clauses = []
    if student_id_index:
        clauses.append(Person.student_id_index == student_id_index)
    if name_dob_index:
        clauses.append(Person.name_dob_index == name_dob_index)
    return or_(*clauses) if clauses else None


def people_by_index(
    db: Session, access: Access, *, student_id_index: str | None, name_dob_index: str | None
) -> Sequence[Person]:
    """Candidates sharing a blind index value, among the people the actor may view."""
    match = _index_match(student_id_index, name_dob_index)
    if match is None:
        return []
    query = select(Person).where(match, policy.visible_people(access)).order_by(Person.id)
    return db.execute(query).scalars().all()


def candidates(
    db: Session, *, district_id: int, student_id_index: str | None, name_dob_index: str | None
) -> Sequence[Person]:
    """Everyone in the district sharing an index value: to confirm by decrypting, never to show."""
    match = _index_match(student_id_index, name_dob_index)
    if match is None:
        return []
    query = select(Person).where(Person.district_id == district_id, match).order_by(Person.id)
    return db.execute(query).scalars().all()


def cases_of_person(
    db: Session, access: Access, person_id: int
) -> Sequence[tuple[Case, CaseParty]]:
    rows = db.execute(
        select(Case, CaseParty)
        .join(CaseParty, CaseParty.case_id == Case.id)
        .where(CaseParty.person_id == person_id, policy.visible_cases(access, Act.VIEW_CASE))
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
            .where(policy.visible_disclosures(access))
            .order_by(Disclosure.disclosed_at.desc(), Disclosure.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


def district_of(db: Session, school_id: int) -> int:
    return db.execute(select(School.district_id).where(School.id == school_id)).scalar_one()


# Every id column is a 32-bit integer: a larger number typed into a form finds nothing.
_MAX_ID = 2**31 - 1


def _id_ok(value: int | None) -> bool:
    return isinstance(value, int) and 0 < value <= _MAX_ID


def team(db: Session, team_id: int) -> Team | None:
    return db.get(Team, team_id) if _id_ok(team_id) else None


def school(db: Session, school_id: int | None) -> School | None:
    return db.get(School, school_id) if _id_ok(school_id) else None


def case_numbers(db: Session, case_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(case_ids))
    if not wanted:
        return {}
    rows = db.execute(select(Case.id, Case.number).where(Case.id.in_(wanted)))
    return {row.id: row.number for row in rows}


def user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id) if _id_ok(user_id) else None


def users_with_roles(db: Session, roles: Iterable[Role]) -> Sequence[User]:
    return (
        db.execute(
            select(User)
            .where(User.role.in_(list(roles)), User.is_active.is_(True))
            .order_by(User.display_name)
        )
        .scalars()
        .all()
    )


# --------------------------------------------------------------------------- intake


def report(db: Session, report_id: int) -> Report | None:
    return db.get(Report, report_id) if _id_ok(report_id) else None


def visible_report(db: Session, access: Access, report_id: int, act: Act) -> Report | None:
    query = select(Report).where(Report.id == report_id, policy.visible_reports(access, act))
    return db.execute(query).scalar_one_or_none()


def report_facts(db: Session, row: Report) -> ReportFacts:
    covering = db.execute(
        select(team_schools.c.team_id)
        .join(Team, Team.id == team_schools.c.team_id)
        .where(team_schools.c.school_id == row.school_id, Team.is_active.is_(True))
    ).scalars()
    return ReportFacts(
        report_id=row.id,
        school_id=row.school_id,
        covering_team_ids=frozenset(covering),
        reporter_id=row.reporter_id,
        reporter_confidential=row.reporter_confidential,
    )


def own_reports(db: Session, access: Access) -> Sequence[Report]:
    query = (
        select(Report)
        .where(policy.visible_reports(access, Act.VIEW_OWN_REPORT))
        .order_by(Report.received_at.desc())
    )
    return db.execute(query).scalars().all()


def triage_queue(db: Session, access: Access) -> Sequence[Report]:
    """Reports waiting for triage, oldest first."""
    query = (
        select(Report)
        .where(Report.status == ReportStatus.RECEIVED, policy.visible_reports(access, Act.TRIAGE))
        .order_by(Report.received_at, Report.id)
    )
    return db.execute(query).scalars().all()


def unacknowledged_imminent(db: Session, access: Access) -> Sequence[Report]:
    query = (
        select(Report)
        .where(
            Report.imminent.is_(True),
            Report.imminent_acknowledged_at.is_(None),
            policy.visible_reports(access, Act.TRIAGE),
        )
        .order_by(Report.received_at)
    )
    return db.execute(query).scalars().all()


def report_people(db: Session, report_id: int) -> Sequence[tuple[ReportPerson, Person]]:
    rows = db.execute(
        select(ReportPerson, Person)
        .join(Person, Person.id == ReportPerson.person_id)
        .where(ReportPerson.report_id == report_id)
        .order_by(ReportPerson.id)
    ).all()
    return [(link, person) for link, person in rows]


def report_attachments(db: Session, report_id: int) -> Sequence[ReportAttachment]:
    query = select(ReportAttachment).where(ReportAttachment.report_id == report_id)
    return db.execute(query.order_by(ReportAttachment.id)).scalars().all()


def report_attachment(db: Session, report_id: int, attachment_id: int) -> ReportAttachment | None:
    query = select(ReportAttachment).where(
        ReportAttachment.report_id == report_id, ReportAttachment.id == attachment_id
    )
    return db.execute(query).scalar_one_or_none()


def report_actions(db: Session, report_id: int) -> Sequence[ReportAction]:
    query = select(ReportAction).where(ReportAction.report_id == report_id)
    return db.execute(query.order_by(ReportAction.taken_at, ReportAction.id)).scalars().all()


def earlier_reports_of(
    db: Session, access: Access, person_id: int, *, before: datetime, other_than: int
) -> Sequence[Report]:
    """Earlier reports naming the person, among those the actor may triage."""
    query = (
        select(Report)
        .join(ReportPerson, ReportPerson.report_id == Report.id)
        .where(
            ReportPerson.person_id == person_id,
            Report.id != other_than,
            Report.received_at <= before,
            policy.visible_reports(access, Act.TRIAGE),
        )
        .order_by(Report.received_at.desc())
    )
    return db.execute(query).scalars().unique().all()


def tip_access(db: Session, lookup: str) -> TipAccess | None:
    return db.execute(select(TipAccess).where(TipAccess.lookup == lookup)).scalar_one_or_none()


def tip_messages(db: Session, report_id: int) -> Sequence[TipMessage]:
    query = select(TipMessage).where(TipMessage.report_id == report_id)
    return db.execute(query.order_by(TipMessage.created_at, TipMessage.id)).scalars().all()


def active_schools(db: Session) -> Sequence[School]:
    query = select(School).where(School.is_active.is_(True)).order_by(School.name)
    return db.execute(query).scalars().all()


def reports_of_case(db: Session, case_id: int) -> Sequence[Report]:
    query = select(Report).where(Report.case_id == case_id).order_by(Report.received_at)
    return db.execute(query).scalars().all()
