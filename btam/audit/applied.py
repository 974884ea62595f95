"""The case store's own record of the audited changes it applied, for ``btam audit reconcile``.

The unit of work inserts one row per audit entry of a change (``CHANGE_ACTIONS``), with the
entry's seq, in the same case-store transaction as the change itself: the row exists exactly
when the change was committed. Comparing these rows with the trail shows entries whose change
never happened and changes that have no entry.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from btam.db import CaseBase, UTCDateTime


class AppliedChange(CaseBase):
    """Audit entry ``audit_seq``'s change was committed to the case store at ``applied_at``."""

    __tablename__ = "applied_changes"

    audit_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
