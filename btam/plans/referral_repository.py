"""Queries of referrals, notifications and documented histories; every read of a referral or
a notification goes through the record-class filter notes use (``readable_records``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from btam.access.policy import Access, Act
from btam.cases.models import Case
from btam.cases.scope import readable_records, visible_cases
from btam.cases.terms import CaseStatus
from btam.ids import is_record_id
from btam.plans.referral_models import DocumentedHistory, Notification, Referral, ReferralStep
from btam.plans.referral_terms import OPEN_STATUSES


def referrals(db: Session, access: Access, case_id: int) -> Sequence[Referral]:
    """The case's referrals the actor may read, oldest first."""
    query = select(Referral).where(Referral.case_id == case_id, readable_records(access, Referral))
    return db.execute(query.order_by(Referral.created_at, Referral.id)).scalars().all()


def all_referrals(db: Session, case_id: int) -> Sequence[Referral]:
    """Every referral of the case, whoever may read it (for what a closure must name)."""
    query = select(Referral).where(Referral.case_id == case_id)
    return db.execute(query.order_by(Referral.id)).scalars().all()


def referral(db: Session, access: Access, case_id: int, referral_id: int) -> Referral | None:
    """One referral of the case the actor may read."""
    if not is_record_id(referral_id):
        return None
    query = select(Referral).where(
        Referral.case_id == case_id,
        Referral.id == referral_id,
        readable_records(access, Referral),
    )
    return db.execute(query).scalar_one_or_none()


def steps(db: Session, referral_ids: Iterable[int]) -> Sequence[ReferralStep]:
    wanted = sorted(set(referral_ids))
    if not wanted:
        return []
    query = select(ReferralStep).where(ReferralStep.referral_id.in_(wanted))
    return db.execute(query.order_by(ReferralStep.taken_at, ReferralStep.id)).scalars().all()


def open_referrals(db: Session, access: Access) -> Sequence[tuple[Referral, Case]]:
    """Open referrals the actor may read, on cases not closed, by next follow-up date."""
    query = (
        select(Referral, Case)
        .join(Case, Case.id == Referral.case_id)
        .where(
            Referral.status.in_(sorted(OPEN_STATUSES)),
            Case.status != CaseStatus.CLOSED,
            readable_records(access, Referral),
        )
        .order_by(Referral.follow_up_on, Referral.id)
    )
    return [(r, c) for r, c in db.execute(query).all()]


def notifications(db: Session, access: Access, case_id: int) -> Sequence[Notification]:
    """The case's notifications the actor may read, in the order they were given."""
    query = select(Notification).where(
        Notification.case_id == case_id, readable_records(access, Notification)
    )
    return db.execute(query.order_by(Notification.notified_at, Notification.id)).scalars().all()


def all_notifications(db: Session, case_ids: Sequence[int]) -> dict[int, list[Notification]]:
    """Every notification of each of these cases (every id a key): what a duty is checked
    against, whoever reads it."""
    found: dict[int, list[Notification]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return found
    query = select(Notification).where(Notification.case_id.in_(sorted(set(case_ids))))
    for row in db.execute(query.order_by(Notification.id)).scalars():
        found[row.case_id].append(row)
    return found


def histories(db: Session, person_ids: Iterable[int]) -> Sequence[DocumentedHistory]:
    """The documented histories of these people, recorded in any case."""
    wanted = sorted(set(person_ids))
    if not wanted:
        return []
    query = select(DocumentedHistory).where(DocumentedHistory.person_id.in_(wanted))
    return db.execute(query.order_by(DocumentedHistory.id)).scalars().all()


def open_cases(db: Session, access: Access) -> Sequence[Case]:
    """The cases, not closed, whose records the actor may view."""
    query = select(Case).where(
        visible_cases(access, Act.VIEW_CASE), Case.status != CaseStatus.CLOSED
    )
    return db.execute(query.order_by(Case.id)).scalars().all()
