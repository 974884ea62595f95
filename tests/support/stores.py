"""Direct looks into the stores, for asserting what a person cannot see from the pages."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import Flask
from sqlalchemy import MetaData, func, select, update

from btam.accounts.models import (
    RecoveryCode,
    School,
    SigninCounter,
    SigninFailure,
    SigninStepToken,
    Team,
    User,
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


def case_store_digest(app: Flask, tables: MetaData) -> dict[str, str]:
    """A SHA-256 of each table's rows, row by row in primary-key order, every column."""
    digests = {}
    with app.extensions["btam"].stores.case_engine.connect() as conn:
        for table in tables.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = hashlib.sha256()
            for row in conn.execute(select(table).order_by(*order)):
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


def case_store_snapshot(app: Flask) -> dict[str, list[tuple[object, ...]]]:
    """Everything a refused request could change in the case store (users, teams, schools,
    sessions, recovery codes, sign-in counts and tokens)."""
    with app.extensions["btam"].stores.case_sessions() as db:
        return {
            "users": [
                (
                    u.id,
                    u.username,
                    u.display_name,
                    str(u.role),
                    u.is_active,
                    u.password_hash,
                    u.must_change_password,
                    u.mfa_secret,
                    u.mfa_pending_secret,
                    u.mfa_last_step,
                    tuple(s.id for s in u.schools),
                )
                for u in db.execute(select(User).order_by(User.id)).scalars()
            ],
            "teams": [
                (t.id, t.name, tuple(m.id for m in t.members))
                for t in db.execute(select(Team).order_by(Team.id)).scalars()
            ],
            "schools": [(s.id, s.name) for s in db.execute(select(School)).scalars()],
            # last_seen_at is left out: it moves when a session is merely used.
            "sessions": [
                (s.id, s.user_id, s.ended_at, s.end_reason, s.reauthenticated_at)
                for s in db.execute(select(UserSession).order_by(UserSession.id)).scalars()
            ],
            "recovery": [
                (r.id, r.code_hash, r.used_at)
                for r in db.execute(select(RecoveryCode).order_by(RecoveryCode.id)).scalars()
            ],
            "failures": [
                (f.id,) for f in db.execute(select(SigninFailure).order_by(SigninFailure.id))
            ],
            "attempts": [
                (c.scope, c.key_hash, c.attempts)
                for c in db.execute(
                    select(SigninCounter).order_by(SigninCounter.scope, SigninCounter.key_hash)
                ).scalars()
            ],
            "step_tokens": [
                (t.id, t.used_at)
                for t in db.execute(select(SigninStepToken).order_by(SigninStepToken.id)).scalars()
            ],
        }
