"""Whether a store takes a write right now, for ``/healthz``: one INSERT, rolled back.

A ``SELECT 1`` answers while a store refuses writes (a read-only file or mount, a standby
promoted too late, a revoked grant), and then every audited action fails. Each store has a
tiny table for the probe; its row is always rolled back, so the table stays empty and no
privilege beyond the application's own INSERT is needed.
"""

from __future__ import annotations

import logging

from sqlalchemy import Column, Engine, Table, insert
from sqlalchemy.exc import SQLAlchemyError

from btam.audit.models import store_probe as audit_store_probe
from btam.db import CaseBase, UTCDateTime, utcnow

__all__ = ["audit_store_probe", "case_store_probe", "takes_writes"]

log = logging.getLogger(__name__)

case_store_probe = Table(
    "case_store_probe",
    CaseBase.metadata,
    Column("probed_at", UTCDateTime(), nullable=False),
)


def takes_writes(engine: Engine, probe: Table) -> bool:
    """Answer whether ``engine``'s store accepts an INSERT into ``probe`` now; nothing stays.

    On SQLite the INSERT takes the database's write lock for one statement (the audit
    engine's ``BEGIN IMMEDIATE`` takes it at once); on PostgreSQL no lock is shared with the
    audit chain's appends. Failures are logged by kind only: no SQL, no parameters.
    """
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            try:
                conn.execute(insert(probe).values(probed_at=utcnow()))
            finally:
                transaction.rollback()
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        log.warning("store refused the health probe on %s (%s)", probe.name, type(cause).__name__)
        return False
    return True
