"""Queries of a case's assessment records; facts go through the record-class scope filter."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from btam.access.policy import Access, Act
from btam.assessment.models import (
    Answer,
    AnswerFact,
    Determination,
    DeterminationFact,
    Fact,
    Notice,
    Participant,
)
from btam.assessment.scope import visible_facts
from btam.assessment.terms import DeterminationStatus, Response
from btam.cases.models import Case
from btam.cases.scope import visible_cases
from btam.ids import is_record_id


def current_facts(db: Session, access: Access, case_id: int) -> Sequence[Fact]:
    """The newest version of every fact of the case the actor may read in full."""
    query = select(Fact).where(
        Fact.case_id == case_id, Fact.superseded_by_id.is_(None), visible_facts(access)
    )
    return db.execute(query.order_by(Fact.learned_on, Fact.id)).scalars().all()


def hidden_facts(db: Session, access: Access, case_id: int) -> Sequence[Fact]:
    """Newest counseling and law-enforcement facts the actor may not read: only summaries."""
    query = select(Fact).where(
        Fact.case_id == case_id, Fact.superseded_by_id.is_(None), ~visible_facts(access)
    )
    return db.execute(query.order_by(Fact.learned_on, Fact.id)).scalars().all()


def fact_versions(db: Session, access: Access, case_id: int) -> Sequence[Fact]:
    """Every older version of the case's facts the actor may read, oldest first."""
    query = select(Fact).where(
        Fact.case_id == case_id, Fact.superseded_by_id.is_not(None), visible_facts(access)
    )
    return db.execute(query.order_by(Fact.series_id, Fact.version)).scalars().all()


def fact(db: Session, access: Access, case_id: int, fact_id: int) -> Fact | None:
    """A fact of the case the actor may read in full (any version)."""
    if not is_record_id(fact_id):
        return None
    query = select(Fact).where(Fact.case_id == case_id, Fact.id == fact_id, visible_facts(access))
    return db.execute(query).scalar_one_or_none()


def fact_series_of(db: Session, case_id: int) -> set[int]:
    """The series ids of every fact of the case (whoever may read them)."""
    query = select(Fact.series_id).where(Fact.case_id == case_id).distinct()
    return {s for s in db.execute(query).scalars() if s is not None}


def fact_offences(db: Session, case_id: int) -> Sequence[tuple[int, str]]:
    """(series, offence) of the newest facts flagged with an offence to report."""
    query = select(Fact.series_id, Fact.offence).where(
        Fact.case_id == case_id, Fact.superseded_by_id.is_(None), Fact.offence.is_not(None)
    )
    return [(s, o) for s, o in db.execute(query).all() if s is not None and o is not None]


def current_answers(db: Session, case_id: int) -> Sequence[Answer]:
    query = select(Answer).where(Answer.case_id == case_id, Answer.superseded_by_id.is_(None))
    return db.execute(query.order_by(Answer.id)).scalars().all()


def current_answer(db: Session, case_id: int, question_key: str) -> Answer | None:
    query = select(Answer).where(
        Answer.case_id == case_id,
        Answer.question_key == question_key,
        Answer.superseded_by_id.is_(None),
    )
    return db.execute(query).scalar_one_or_none()


def answer_links(db: Session, answer_ids: Iterable[int]) -> dict[int, list[int]]:
    """The fact series each answer cites."""
    wanted = sorted(set(answer_ids))
    links: dict[int, list[int]] = {i: [] for i in wanted}
    if wanted:
        query = select(AnswerFact.answer_id, AnswerFact.fact_series_id).where(
            AnswerFact.answer_id.in_(wanted)
        )
        for answer_id, series in db.execute(query.order_by(AnswerFact.id)):
            links[answer_id].append(series)
    return links


def determinations(db: Session, case_id: int) -> Sequence[Determination]:
    """Every determination of the case, newest first."""
    return determinations_of_cases(db, [case_id])[case_id]


def determinations_of_cases(db: Session, case_ids: Sequence[int]) -> dict[int, list[Determination]]:
    """Every determination of each of these cases (every id a key), newest first."""
    found: dict[int, list[Determination]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return found
    query = select(Determination).where(Determination.case_id.in_(sorted(set(case_ids))))
    for row in db.execute(query.order_by(Determination.version.desc())).scalars():
        found[row.case_id].append(row)
    return found


def determination(db: Session, case_id: int, determination_id: int) -> Determination | None:
    if not is_record_id(determination_id):
        return None
    query = select(Determination).where(
        Determination.case_id == case_id, Determination.id == determination_id
    )
    return db.execute(query).scalar_one_or_none()


def next_version(db: Session, case_id: int) -> int:
    query = select(func.max(Determination.version)).where(Determination.case_id == case_id)
    return int(db.execute(query).scalar_one() or 0) + 1


def participants(db: Session, determination_ids: Iterable[int]) -> Sequence[Participant]:
    wanted = sorted(set(determination_ids))
    if not wanted:
        return []
    query = select(Participant).where(Participant.determination_id.in_(wanted))
    return db.execute(query.order_by(Participant.id)).scalars().all()


def determination_links(db: Session, determination_ids: Iterable[int]) -> dict[int, list[int]]:
    wanted = sorted(set(determination_ids))
    links: dict[int, list[int]] = {i: [] for i in wanted}
    if wanted:
        query = select(DeterminationFact.determination_id, DeterminationFact.fact_series_id).where(
            DeterminationFact.determination_id.in_(wanted)
        )
        for determination_id, series in db.execute(query.order_by(DeterminationFact.id)):
            links[determination_id].append(series)
    return links


def pending_for(db: Session, access: Access) -> Sequence[tuple[Participant, Determination, Case]]:
    """Determinations waiting for the actor's own confirmation, on cases it may view."""
    query = (
        select(Participant, Determination, Case)
        .join(Determination, Determination.id == Participant.determination_id)
        .join(Case, Case.id == Determination.case_id)
        .where(
            Participant.user_id == access.actor.user_id,
            Participant.response == Response.PENDING,
            Determination.status == DeterminationStatus.PENDING,
            visible_cases(access, Act.VIEW_CASE),
        )
        .order_by(Determination.recorded_at)
    )
    return [(p, d, c) for p, d, c in db.execute(query).all()]


def notices(db: Session, case_id: int) -> Sequence[Notice]:
    query = select(Notice).where(Notice.case_id == case_id)
    return db.execute(query.order_by(Notice.given_at, Notice.id)).scalars().all()
