"""Authentication state kept on the server: sign-in throttling and sign-in sessions.

Both live in the case store, never in process memory, so that every gunicorn worker and every
host behind a load balancer enforces the same limits and sees the same ended sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from btam.accounts.models import SigninFailure, User, UserSession


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Throttle:
    """Counts failed sign-ins per account and per client address and says when to refuse.

    An account key is derived from the user name as typed, whether or not such a user exists,
    so that a lockout says nothing about which accounts exist.
    """

    secret: bytes
    account_limit: int
    address_limit: int
    window: timedelta
    lockout: timedelta

    def _key(self, scope: str, value: str) -> str:
        message = f"{scope}\x00{value}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def account_key(self, username: str) -> str:
        return self._key("account", username.strip().casefold())

    def address_key(self, address: str) -> str:
        return self._key("address", address)

    def is_locked(self, db: Session, *, username: str, address: str, now: datetime) -> bool:
        """Answer whether the account or the address failed ``limit`` times within one window
        and the lockout since the last of those failures has not yet passed."""
        for scope, key, limit in (
            ("account", self.account_key(username), self.account_limit),
            ("address", self.address_key(address), self.address_limit),
        ):
            last = db.execute(
                select(func.max(SigninFailure.at)).where(
                    SigninFailure.scope == scope, SigninFailure.key_hash == key
                )
            ).scalar_one_or_none()
            if last is None or now >= _aware(last) + self.lockout:
                continue
            count = db.execute(
                select(func.count(SigninFailure.id)).where(
                    SigninFailure.scope == scope,
                    SigninFailure.key_hash == key,
                    SigninFailure.at > _aware(last) - self.window,
                )
            ).scalar_one()
            if count >= limit:
                return True
        return False

    def record_failure(self, db: Session, *, username: str, address: str, now: datetime) -> None:
        """Count one failure against the account and the address; prune what no longer counts."""
        horizon = now - max(self.window, self.lockout) * 2
        db.execute(delete(SigninFailure).where(SigninFailure.at < horizon))
        db.add(SigninFailure(scope="account", key_hash=self.account_key(username), at=now))
        db.add(SigninFailure(scope="address", key_hash=self.address_key(address), at=now))

    def clear_account(self, db: Session, *, username: str) -> None:
        """Forget an account's failures after a complete sign-in (address counts remain)."""
        db.execute(
            delete(SigninFailure).where(
                SigninFailure.scope == "account",
                SigninFailure.key_hash == self.account_key(username),
            )
        )


def _aware(moment: datetime) -> datetime:
    # Aggregates over SQLite text columns can come back without a zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SessionRules:
    idle: timedelta
    absolute: timedelta
    # Writing last_seen on every request would turn every page view into a write.
    touch_every: timedelta = timedelta(seconds=30)


def start_session(db: Session, *, user_id: int, now: datetime) -> str:
    """Open a server-side session for a user who has just signed in; return its token."""
    token = secrets.token_urlsafe(32)
    db.add(
        UserSession(user_id=user_id, token_hash=_digest(token), created_at=now, last_seen_at=now)
    )
    return token


def resume_session(
    db: Session, *, token: str, rules: SessionRules, now: datetime
) -> tuple[UserSession, User, str | None] | None:
    """Find the session of a token: None when unknown or ended before, else the session, its
    user and, when it ends here and now (idle, absolute limit, user disabled), the reason.
    """
    if not token:
        return None
    row = db.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _digest(token))
    ).one_or_none()
    if row is None:
        return None
    session_row, user = row
    if session_row.ended_at is not None:
        return None
    reason = None
    if not user.is_active:
        reason = "disabled"
    elif now - session_row.created_at >= rules.absolute:
        reason = "absolute_timeout"
    elif now - session_row.last_seen_at >= rules.idle:
        reason = "idle_timeout"
    if reason:
        session_row.ended_at = now
        session_row.end_reason = reason
    elif now - session_row.last_seen_at >= rules.touch_every:
        session_row.last_seen_at = now
    return session_row, user, reason


def end_session(db: Session, *, token: str, reason: str, now: datetime) -> None:
    """End one session (sign-out)."""
    db.execute(
        update(UserSession)
        .where(UserSession.token_hash == _digest(token), UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )


def end_user_sessions(
    db: Session, *, user_id: int, reason: str, now: datetime, keep_token: str | None = None
) -> int:
    """End every live session of a user, except the one of ``keep_token``; return how many."""
    query = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.ended_at.is_(None)
    )
    if keep_token:
        query = query.where(UserSession.token_hash != _digest(keep_token))
    result = db.execute(query.values(ended_at=now, end_reason=reason))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def live_session_count(db: Session, *, user_id: int, now: datetime, rules: SessionRules) -> int:
    """How many sessions of a user are open and within their idle and absolute limits."""
    count = db.execute(
        select(func.count(UserSession.id)).where(
            UserSession.user_id == user_id,
            UserSession.ended_at.is_(None),
            UserSession.last_seen_at > now - rules.idle,
            UserSession.created_at > now - rules.absolute,
        )
    ).scalar_one()
    return int(count)
