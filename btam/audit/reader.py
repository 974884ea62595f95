"""Reading the audit trail for auditors: filtered, paginated, streamed for export.

Only ids, actions and outcomes are stored, so nothing here can show case content; names of
staff are looked up in the case store by the trail service.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from btam.audit.actions import AuditAction
from btam.audit.models import AuditCheckpoint, AuditEntry

PAGE_SIZE = 50
EXPORT_BATCH = 1000


@dataclass(frozen=True)
class TrailFilter:
    """What an auditor narrows the trail to; every field is optional."""

    actor_id: int | None = None
    case_id: int | None = None
    school_id: int | None = None
    action: str | None = None
    outcome: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    # The zone whose calendar days date_from and date_to name (the district's).
    zone: tzinfo = UTC

    def apply(self, query: Select[Any]) -> Select[Any]:
        conditions = []
        for column, value in (
            (AuditEntry.actor_id, self.actor_id),
            (AuditEntry.case_id, self.case_id),
            (AuditEntry.school_id, self.school_id),
            (AuditEntry.action, self.action),
            (AuditEntry.outcome, self.outcome),
            (AuditEntry.object_type, self.object_type),
            (AuditEntry.object_id, self.object_id),
        ):
            if value is not None and value != "":
                conditions.append(column == value)
        if self.date_from is not None:
            conditions.append(AuditEntry.at >= datetime.combine(self.date_from, time(), self.zone))
        if self.date_to is not None:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), self.zone)
            conditions.append(AuditEntry.at < end)
        return query.where(*conditions) if conditions else query


@dataclass(frozen=True)
class TrailPage:
    entries: list[AuditEntry]
    page: int
    pages: int
    total: int


def read_page(
    sessions: sessionmaker[Session], flt: TrailFilter, *, page: int, per_page: int = PAGE_SIZE
) -> TrailPage:
    """One page of matching entries, newest first."""
    with sessions() as db:
        total = int(db.execute(flt.apply(select(func.count(AuditEntry.seq)))).scalar_one())
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        rows = list(
            db.execute(
                flt.apply(select(AuditEntry))
                .order_by(AuditEntry.seq.desc())
                .offset((page - 1) * per_page)
                .limit(per_page)
            ).scalars()
        )
    return TrailPage(rows, page, pages, total)


def stream(sessions: sessionmaker[Session], flt: TrailFilter) -> Iterator[AuditEntry]:
    """Every matching entry, oldest first, in batches so an export never holds the trail."""
    after = 0
    while True:
        with sessions() as db:
            batch = list(
                db.execute(
                    flt.apply(select(AuditEntry))
                    .where(AuditEntry.seq > after)
                    .order_by(AuditEntry.seq)
                    .limit(EXPORT_BATCH)
                ).scalars()
            )
        if not batch:
            return
        yield from batch
        after = batch[-1].seq


def last_checkpoint(sessions: sessionmaker[Session]) -> AuditCheckpoint | None:
    """The newest signed checkpoint, or None."""
    with sessions() as db:
        return db.execute(
            select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
        ).scalar_one_or_none()


def entries_with_action(
    sessions: sessionmaker[Session], action: str, *, limit: int = 500
) -> list[AuditEntry]:
    """The newest entries of one action, newest first."""
    with sessions() as db:
        return list(
            db.execute(
                select(AuditEntry)
                .where(AuditEntry.action == action)
                .order_by(AuditEntry.seq.desc())
                .limit(limit)
            ).scalars()
        )


def entries_of_actor_on_case(
    sessions: sessionmaker[Session],
    *,
    actor_id: int,
    case_id: int,
    after_seq: int,
    limit: int = 100,
) -> list[AuditEntry]:
    """What one user did on one case after entry ``after_seq``, oldest first."""
    with sessions() as db:
        return list(
            db.execute(
                select(AuditEntry)
                .where(
                    AuditEntry.seq > after_seq,
                    AuditEntry.actor_id == actor_id,
                    AuditEntry.case_id == case_id,
                )
                .order_by(AuditEntry.seq)
                .limit(limit)
            ).scalars()
        )


def entry_by_seq(sessions: sessionmaker[Session], seq: int) -> AuditEntry | None:
    with sessions() as db:
        return db.get(AuditEntry, seq)


def entry_of(action: AuditAction, *, object_id: str) -> ColumnElement[bool]:
    """A condition matching entries of ``action`` about ``object_id`` (for once-only events)."""
    return and_(AuditEntry.action == action.value, AuditEntry.object_id == object_id)
