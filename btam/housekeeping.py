"""Pruning on a timer that needs no scheduler.

Expired rate-limit salts and events, spent proofs of work and past alerts are deleted by the
first request that finds a minute gone since the last pruning: each worker looks at most once
a minute, and the case store decides which of the workers (on any host) prunes, with a
conditional update of one row. A site that gets no requests at all is pruned by
``btam maintenance prune`` (from cron or a systemd timer), which does the same at once.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import String, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from btam.db import CaseBase, UTCDateTime, insert_ignoring_conflicts
from btam.intake import rate_limits

PRUNE_EVERY = timedelta(minutes=1)
PRUNE_TASK = "prune"


class HousekeepingRun(CaseBase):
    """When a housekeeping task last ran (one row per task), shared by every worker."""

    __tablename__ = "housekeeping"

    task: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime())


def prune(db: Session, *, now: datetime) -> dict[str, int]:
    """Delete everything whose window has ended; the caller commits. Rows removed, by kind."""
    return rate_limits.prune(db, now=now)


def _claim_turn(db: Session, *, now: datetime) -> bool:
    if insert_ignoring_conflicts(db, HousekeepingRun, task=PRUNE_TASK, last_run_at=now):
        return True
    result = db.execute(
        update(HousekeepingRun)
        .where(
            HousekeepingRun.task == PRUNE_TASK,
            HousekeepingRun.last_run_at <= now - PRUNE_EVERY,
        )
        .values(last_run_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def prune_if_due(sessions: sessionmaker[Session], *, now: datetime) -> dict[str, int] | None:
    """Prune when no worker has for a minute; what was removed, or None when it was not due."""
    with sessions() as db:
        if not _claim_turn(db, now=now):
            db.rollback()
            return None
        removed = prune(db, now=now)
        db.commit()
        return removed


class Pruner:
    """One worker's side of the timer: it asks the store at most once a minute."""

    def __init__(self) -> None:
        self._next_look = 0.0

    def due(self) -> bool:
        """Whether this worker should look now (and will not again for a minute)."""
        moment = time.monotonic()
        if moment < self._next_look:
            return False
        self._next_look = moment + PRUNE_EVERY.total_seconds()
        return True
