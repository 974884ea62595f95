"""Queries of reports, their people, files, actions and the tip line's conversation."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from btam.access.policy import Access, Act, ReportFacts
from btam.accounts.models import Team, team_schools
from btam.ids import is_record_id
from btam.intake import scope as intake_scope
from btam.intake.models import (
    Report,
    ReportAction,
    ReportAttachment,
    ReportMention,
    ReportPerson,
    TipAccess,
    TipMessage,
)
from btam.intake.terms import ReportStatus
from btam.people.models import PERSON_FIELDS, Person
from btam.security.fields import preload_keys
from btam.security.keys import bind_scope

MENTION_FIELDS = (
    ReportMention.given_name,
    ReportMention.family_name,
    ReportMention.date_of_birth_text,
    ReportMention.student_number,
)


def report(db: Session, report_id: int) -> Report | None:
    return db.get(Report, report_id) if is_record_id(report_id) else None


def visible_report(db: Session, access: Access, report_id: int, act: Act) -> Report | None:
    query = select(Report).where(Report.id == report_id, intake_scope.visible_reports(access, act))
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
        .where(intake_scope.visible_reports(access, Act.VIEW_OWN_REPORT))
        .order_by(Report.received_at.desc())
    )
    return db.execute(query).scalars().all()


def triage_queue(
    db: Session, access: Access, *, offset: int = 0, limit: int | None = None
) -> tuple[Sequence[Report], int]:
    """A page of the reports waiting for triage, oldest first, and how many wait in all."""
    allowed = (
        Report.status == ReportStatus.RECEIVED,
        intake_scope.visible_reports(access, Act.TRIAGE),
    )
    total = db.execute(select(func.count()).select_from(Report).where(*allowed)).scalar_one()
    query = (
        select(Report)
        .where(*allowed)
        .order_by(Report.received_at, Report.id)
        .offset(offset)
        .limit(limit)
    )
    return db.execute(query).scalars().all(), total


def people_of_reports(
    db: Session, report_ids: Sequence[int]
) -> dict[int, list[tuple[ReportPerson, Person]]]:
    """The linked people of several reports in one query, by report."""
    found: dict[int, list[tuple[ReportPerson, Person]]] = {i: [] for i in report_ids}
    if report_ids:
        rows = db.execute(
            select(ReportPerson, Person)
            .join(Person, Person.id == ReportPerson.person_id)
            .where(ReportPerson.report_id.in_(report_ids))
            .order_by(ReportPerson.id)
        ).all()
        for link, person in rows:
            found[link.report_id].append((link, person))
        preload_keys([person for _link, person in rows], *PERSON_FIELDS)
    return found


def mentions_of_reports(db: Session, report_ids: Sequence[int]) -> dict[int, list[ReportMention]]:
    """The people several reports name, as typed, in one query, by report."""
    found: dict[int, list[ReportMention]] = {i: [] for i in report_ids}
    if report_ids:
        query = select(ReportMention).where(ReportMention.report_id.in_(report_ids))
        rows = db.execute(query.order_by(ReportMention.id)).scalars().all()
        for mention in rows:
            found[mention.report_id].append(mention)
        preload_keys(rows, *MENTION_FIELDS)
    return found


def unacknowledged_imminent(db: Session, access: Access) -> Sequence[Report]:
    query = (
        select(Report)
        .where(
            Report.imminent.is_(True),
            Report.imminent_acknowledged_at.is_(None),
            intake_scope.visible_reports(access, Act.TRIAGE),
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


def report_mentions(db: Session, report_id: int) -> Sequence[ReportMention]:
    """The people the report names, as typed, in the order typed."""
    query = select(ReportMention).where(ReportMention.report_id == report_id)
    return db.execute(query.order_by(ReportMention.id)).scalars().all()


def report_mention(db: Session, report_id: int, mention_id: int) -> ReportMention | None:
    """One person the report names; None for an id of another report's, or none."""
    if not is_record_id(mention_id):
        return None
    query = select(ReportMention).where(
        ReportMention.report_id == report_id, ReportMention.id == mention_id
    )
    return db.execute(query).scalar_one_or_none()


def bind_report_key_to_case(db: Session, report_id: int, case_id: int) -> None:
    """Bind the report's data key to its case's: destroying the case's destroys the report's
    (its narrative, files, actions, messages and mentions), so a shredded case leaves nothing.

    :raises ValueError: the report's key is bound to another case already.
    """
    bind_scope(db, f"report:{report_id}", to=f"case:{case_id}")


def waiting_by_school(db: Session) -> dict[int, int]:
    """How many reports wait for triage, per school id (counts only, never content)."""
    rows = db.execute(
        select(Report.school_id, func.count(Report.id))
        .where(Report.status == ReportStatus.RECEIVED)
        .group_by(Report.school_id)
    ).all()
    return {school_id: int(count) for school_id, count in rows}


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
            intake_scope.visible_reports(access, Act.TRIAGE),
        )
        .order_by(Report.received_at.desc())
    )
    return db.execute(query).scalars().unique().all()


def reports_of_people(
    db: Session, access: Access, person_ids: Collection[int]
) -> Sequence[tuple[Report, int]]:
    """The reports naming any of several people, among those the actor may triage, with the
    person each names: one query for a page of the triage queue."""
    if not person_ids:
        return []
    rows = db.execute(
        select(Report, ReportPerson.person_id)
        .join(ReportPerson, ReportPerson.report_id == Report.id)
        .where(
            ReportPerson.person_id.in_(sorted(person_ids)),
            intake_scope.visible_reports(access, Act.TRIAGE),
        )
        .order_by(Report.received_at.desc())
    ).all()
    return [(r, person_id) for r, person_id in rows]


def mentions_by_indexes(
    db: Session,
    access: Access,
    *,
    student_id_indexes: Collection[str],
    name_dob_indexes: Collection[str],
) -> Sequence[tuple[Report, ReportMention]]:
    """Unlinked mentions sharing any of several blind index values, in reports the actor may
    triage: candidates to confirm by decrypting, for a page of the triage queue at once."""
    clauses = []
    if student_id_indexes:
        clauses.append(ReportMention.student_id_index.in_(sorted(student_id_indexes)))
    if name_dob_indexes:
        clauses.append(ReportMention.name_dob_index.in_(sorted(name_dob_indexes)))
    if not clauses:
        return []
    rows = db.execute(
        select(Report, ReportMention)
        .join(ReportMention, ReportMention.report_id == Report.id)
        .where(
            or_(*clauses),
            ReportMention.person_id.is_(None),
            intake_scope.visible_reports(access, Act.TRIAGE),
        )
        .order_by(Report.received_at.desc(), ReportMention.id)
    ).all()
    preload_keys([m for _r, m in rows], *MENTION_FIELDS)
    return [(r, m) for r, m in rows]


def earlier_mentions(
    db: Session,
    access: Access,
    *,
    student_id_index: str | None,
    name_dob_index: str | None,
    before: datetime,
    other_than: int,
) -> Sequence[tuple[Report, ReportMention]]:
    """Earlier reports with a mention sharing a blind index value, among those the actor may
    triage: candidates to confirm by decrypting the mention."""
    clauses = []
    if student_id_index:
        clauses.append(ReportMention.student_id_index == student_id_index)
    if name_dob_index:
        clauses.append(ReportMention.name_dob_index == name_dob_index)
    if not clauses:
        return []
    rows = db.execute(
        select(Report, ReportMention)
        .join(ReportMention, ReportMention.report_id == Report.id)
        .where(
            or_(*clauses),
            Report.id != other_than,
            Report.received_at <= before,
            intake_scope.visible_reports(access, Act.TRIAGE),
        )
        .order_by(Report.received_at.desc(), ReportMention.id)
    ).all()
    return [(r, m) for r, m in rows]


def tip_access(db: Session, lookup: str) -> TipAccess | None:
    return db.execute(select(TipAccess).where(TipAccess.lookup == lookup)).scalar_one_or_none()


def tip_messages(db: Session, report_id: int) -> Sequence[TipMessage]:
    query = select(TipMessage).where(TipMessage.report_id == report_id)
    return db.execute(query.order_by(TipMessage.created_at, TipMessage.id)).scalars().all()


def count_in_district(db: Session, district_id: int) -> int:
    """How many reports the district has (the demo loads into a district with none)."""
    return int(
        db.execute(
            select(func.count(Report.id)).where(Report.district_id == district_id)
        ).scalar_one()
    )
