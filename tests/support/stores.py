"""Direct looks into the stores, for asserting what a person cannot see from the pages."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import timedelta

from flask import Flask
from sqlalchemy import MetaData, func, select, update

from btam.accounts.models import (
    SigninCounter,
    SigninFailure,
    UserSession,
)
from btam.audit.models import AuditEntry
from btam.db import utcnow


def audit_actions(app: Flask) -> list[str]:
    """The actions of the audit trail, in order."""
    with app.extensions["btam"].stores.audit_sessions() as db:
        return [
            str(a) for a in db.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars()
        ]


def audit_entries(app: Flask, action: str) -> list[AuditEntry]:
    with app.extensions["btam"].stores.audit_sessions() as db:
        return list(
            db.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).scalars()
        )


def age_sessions(
    app: Flask, user_id: int, *, idle: timedelta = timedelta(0), age: timedelta = timedelta(0)
) -> None:
    """Move a user's sessions back in time, as if the user had left the computer."""
    with app.extensions["btam"].stores.case_sessions() as db:
        for row in db.execute(select(UserSession).where(UserSession.user_id == user_id)).scalars():
            row.last_seen_at = row.last_seen_at - idle
            row.created_at = row.created_at - age
        db.commit()


def age_failures(app: Flask, by: timedelta) -> None:
    """Move every counted sign-in attempt and tip-line event back in time."""
    with app.extensions["btam"].stores.case_sessions() as db:
        for failure in db.execute(select(SigninFailure)).scalars():
            failure.at = failure.at - by
        for counter in db.execute(select(SigninCounter)).scalars():
            counter.window_start = counter.window_start - by
            counter.last_at = counter.last_at - by
        db.commit()


def live_sessions(app: Flask, user_id: int) -> int:
    with app.extensions["btam"].stores.case_sessions() as db:
        return int(
            db.execute(
                select(func.count(UserSession.id)).where(
                    UserSession.user_id == user_id, UserSession.ended_at.is_(None)
                )
            ).scalar_one()
        )


def audit_count(app: Flask) -> int:
    """How many entries the audit trail holds."""
    with app.extensions["btam"].stores.audit_sessions() as db:
        return int(db.scalar(select(func.count(AuditEntry.seq))) or 0)


def case_store_tables(app: Flask) -> MetaData:
    """Every table the case store's database holds, read from the database itself (so a table
    created by a migration and missing from the models is counted too)."""
    tables = MetaData()
    tables.reflect(app.extensions["btam"].stores.case_engine)
    return tables


# A session's last sight moves when it is merely used (a keep-alive), not by what it did.
USE_ONLY = frozenset({"user_sessions.last_seen_at"})


def case_store_digest(
    app: Flask, tables: MetaData | None = None, *, skip: Collection[str] = USE_ONLY
) -> dict[str, str]:
    """A SHA-256 of each table's rows, row by row in primary-key order, every column but
    those in ``skip`` ("table.column"): what a refused request must leave as it was."""
    tables = tables if tables is not None else case_store_tables(app)
    digests = {}
    with app.extensions["btam"].stores.case_engine.connect() as conn:
        for table in tables.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            kept = [c for c in table.columns if f"{table.name}.{c.name}" not in skip]
            rows = hashlib.sha256()
            for row in conn.execute(select(*kept).order_by(*order)):
                rows.update(repr(tuple(row)).encode() + b"\n")
            digests[table.name] = rows.hexdigest()
    return digests


def keep_sessions_fresh(app: Flask) -> None:
    """Mark every live session as seen now, so the next request does not move its idle clock
    (a keep-alive written at most every 30 seconds, whatever the request does)."""
    with app.extensions["btam"].stores.case_sessions() as db:
        db.execute(
            update(UserSession).where(UserSession.ended_at.is_(None)).values(last_seen_at=utcnow())
        )
        db.commit()


def age_rate_limits(app: Flask, by: timedelta) -> None:
    """Move the tip line's limits back in time (windows, salts, counts, proofs, alerts, the
    pruning timer), as if ``by`` had passed."""
    from btam.housekeeping import HousekeepingRun
    from btam.intake.models import RateLimitAlert, RateLimitEvent, RateLimitSalt, SpentProof

    columns = {
        RateLimitSalt: ("started_at", "expires_at"),
        RateLimitEvent: ("at", "expires_at"),
        SpentProof: ("expires_at",),
        RateLimitAlert: ("raised_at", "expires_at"),
        HousekeepingRun: ("last_run_at",),
    }
    with app.extensions["btam"].stores.case_sessions() as db:
        for model, names in columns.items():
            for row in db.execute(select(model)).scalars():
                for name in names:
                    setattr(row, name, getattr(row, name) - by)
        db.commit()


def age_reauthentication(app: Flask, user_id: int, by: timedelta) -> None:
    """Move back when a user's sessions last proved the password, as if time had passed."""
    with app.extensions["btam"].stores.case_sessions() as db:
        for row in db.execute(select(UserSession).where(UserSession.user_id == user_id)).scalars():
            if row.reauthenticated_at is not None:
                row.reauthenticated_at = row.reauthenticated_at - by
        db.commit()
