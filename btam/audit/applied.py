"""The case store's own record of the audited changes it applied, for ``btam audit reconcile``.

The unit of work inserts one row per audit entry of a change (``CHANGE_ACTIONS``), with the
entry's seq, in the same case-store transaction as the change itself: the row exists exactly
when the change was committed. Comparing these rows with the trail shows entries whose change
never happened and changes that have no entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import BigInteger, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from btam.db import CaseBase, UTCDateTime


class AppliedChange(CaseBase):
    """Audit entry ``audit_seq``'s change was committed to the case store at ``applied_at``."""

    __tablename__ = "applied_changes"

    audit_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())


def applied_seqs(sessions: sessionmaker[Session], *, batch: int = 5000) -> Iterator[int]:
    """The audit seqs of every applied change, ascending, read in batches.

    :raises sqlalchemy.exc.SQLAlchemyError: when the case store cannot be read.
    """
    after = 0
    while True:
        with sessions() as session:
            seqs = session.scalars(
                select(AppliedChange.audit_seq)
                .where(AppliedChange.audit_seq > after)
                .order_by(AppliedChange.audit_seq)
                .limit(batch)
            ).all()
        if not seqs:
            return
        yield from seqs
        after = seqs[-1]
