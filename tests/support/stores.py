"""Direct looks into the stores, for asserting what a person cannot see from the pages."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from btam.accounts.models import SigninCounter, SigninFailure, UserSession
from btam.audit.models import AuditEntry


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


def age_reauthentication(app: Flask, user_id: int, by: timedelta) -> None:
    """Move back when a user's sessions last proved the password, as if time had passed."""
    with app.extensions["btam"].stores.case_sessions() as db:
        for row in db.execute(select(UserSession).where(UserSession.user_id == user_id)).scalars():
            if row.reauthenticated_at is not None:
                row.reauthenticated_at = row.reauthenticated_at - by
        db.commit()
