"""Authentication state kept on the server: sign-in throttling, sessions, one-time codes.

All of it lives in the case store, never in process memory, so that every gunicorn worker and
every host behind a load balancer enforces the same limits and sees the same ended sessions.

Whatever must hold when two requests arrive at the same moment is decided by one statement
whose own result decides: an attempt is counted by an upsert that returns whether *this*
attempt may be checked; a TOTP step, a recovery code or a sign-in step token is used by an
UPDATE whose row count says whether *this* request was the one that used it. Nothing is
read first and written later on the strength of what was read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from btam.accounts.models import (
    RecoveryCode,
    SigninCounter,
    SigninStepToken,
    User,
    UserSession,
)
from btam.db import UTCDateTime
from btam.errors import StoreUnavailable

ACCOUNT = "account"
ADDRESS = "address"
# Rows updated by a single statement: the ORM is told not to look for them in the session.
_UNSYNCED = {"synchronize_session": False}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _moment(value: datetime) -> Any:
    # A bound timestamp in the column's own format (SQLite compares timestamps as text).
    return literal(value, UTCDateTime())


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt, counted before its password or code is checked.

    ``admitted`` says whether it may be checked; ``counted`` names the counters it was
    counted against, to be given back when it turns out right.
    """

    admitted: bool
    counted: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Throttle:
    """Counts sign-in attempts per account name and per client address; refuses past a limit.

    At most ``account_limit`` (``address_limit``) attempts of one account name (client
    address) that failed or are still being checked are let through within ``window``; once
    that many are counted, every further attempt is refused until ``lockout`` has passed since
    the last one let through. An attempt is counted *before* its secret is checked, by one
    upsert that returns whether this very attempt was let through, so parallel guesses cannot
    all slip under the limit; a right one gives its count back.

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
        return self._key(ACCOUNT, username.strip().casefold())

    def address_key(self, address: str) -> str:
        return self._key(ADDRESS, address)

    def _counters(self, username: str, address: str) -> tuple[tuple[str, str, int], ...]:
        # Always the account first: two attempts lock their rows in the same order, so
        # PostgreSQL never finds them waiting for each other.
        return (
            (ACCOUNT, self.account_key(username), self.account_limit),
            (ADDRESS, self.address_key(address), self.address_limit),
        )

    def count_attempt(self, db: Session, *, username: str, address: str, now: datetime) -> Attempt:
        """Count one attempt against the account name and the client address, and say whether
        it may be checked. The caller commits before checking anything.

        An attempt refused by either counter is counted by neither.

        :raises StoreUnavailable: when the attempt cannot be counted (it must not be checked).
        """
        try:
            self._prune(db, now)
            counted: list[tuple[str, str]] = []
            for scope, key, limit in self._counters(username, address):
                if not self._let_through(db, scope, key, limit, now):
                    for done in counted:
                        self._give_back(db, *done)
                    return Attempt(admitted=False)
                counted.append((scope, key))
            return Attempt(admitted=True, counted=tuple(counted))
        except SQLAlchemyError:
            db.rollback()
            raise StoreUnavailable("a sign-in attempt could not be counted") from None

    def _let_through(self, db: Session, scope: str, key: str, limit: int, now: datetime) -> bool:
        row = SigninCounter
        # Every expression below reads the row as it was before this statement: in both
        # SQLite's and PostgreSQL's upsert, SET sees the old values.
        spent = row.attempts >= limit
        fresh = or_(
            and_(~spent, row.window_start <= _moment(now - self.window)),
            and_(spent, row.last_at <= _moment(now - self.lockout)),
        )
        let_through = or_(fresh, ~spent)
        values = dict(
            scope=scope, key_hash=key, attempts=1, window_start=now, last_at=now, admitted=True
        )
        upsert: postgresql.Insert | sqlite.Insert
        if db.get_bind().dialect.name == "postgresql":
            upsert = postgresql.insert(SigninCounter).values(**values)
        else:
            upsert = sqlite.insert(SigninCounter).values(**values)
        statement = upsert.on_conflict_do_update(
            index_elements=[row.scope, row.key_hash],
            set_={
                "attempts": case((fresh, 1), (spent, row.attempts), else_=row.attempts + 1),
                "window_start": case((fresh, _moment(now)), else_=row.window_start),
                "last_at": case((let_through, _moment(now)), else_=row.last_at),
                "admitted": let_through,
            },
        ).returning(row.admitted)
        return bool(db.execute(statement).scalar_one())

    def _give_back(self, db: Session, scope: str, key: str) -> None:
        db.execute(
            update(SigninCounter)
            .where(
                SigninCounter.scope == scope,
                SigninCounter.key_hash == key,
                SigninCounter.attempts > 0,
            )
            .values(attempts=SigninCounter.attempts - 1)
            .execution_options(**_UNSYNCED)
        )

    def _prune(self, db: Session, now: datetime) -> None:
        horizon = now - max(self.window, self.lockout) * 2
        # Rows another attempt holds are skipped (PostgreSQL), so pruning never waits on a
        # row lock, and so never joins a cycle of them.
        stale = (
            select(SigninCounter.scope, SigninCounter.key_hash)
            .where(SigninCounter.last_at < _moment(horizon))
            .with_for_update(skip_locked=True)
        )
        db.execute(
            delete(SigninCounter)
            .where(tuple_(SigninCounter.scope, SigninCounter.key_hash).in_(stale))
            .execution_options(**_UNSYNCED)
        )

    def give_back(self, db: Session, attempt: Attempt) -> None:
        """Uncount an attempt that turned out right (the caller commits)."""
        for scope, key in attempt.counted:
            self._give_back(db, scope, key)

    def is_locked(self, db: Session, *, username: str, address: str, now: datetime) -> bool:
        """Answer whether the account name or the address has used up its attempts and the
        lockout since the last one let through has not yet passed."""
        for scope, key, limit in self._counters(username, address):
            found = db.execute(
                select(SigninCounter.attempts, SigninCounter.last_at).where(
                    SigninCounter.scope == scope, SigninCounter.key_hash == key
                )
            ).one_or_none()
            if found is not None and found.attempts >= limit and now < found.last_at + self.lockout:
                return True
        return False

    def clear_account(self, db: Session, *, username: str) -> None:
        """Forget an account's attempts after a complete sign-in (address counts remain)."""
        db.execute(
            delete(SigninCounter)
            .where(
                SigninCounter.scope == ACCOUNT,
                SigninCounter.key_hash == self.account_key(username),
            )
            .execution_options(**_UNSYNCED)
        )


def commit_count(db: Session) -> None:
    """Commit a counted attempt before its secret is checked.

    :raises StoreUnavailable: when the count cannot be committed (nothing may be checked).
    """
    try:
        db.commit()
    except SQLAlchemyError:
        db.rollback()
        raise StoreUnavailable("a sign-in attempt could not be counted") from None


# --- second factor -------------------------------------------------------------------------


def consume_totp_step(db: Session, *, user_id: int, step: int) -> bool:
    """Record ``step`` as the user's last accepted TOTP step unless it (or a later one) was
    accepted already; True when this call is the one that accepted it."""
    result = db.execute(
        update(User)
        .where(User.id == user_id, User.mfa_last_step < step)
        .values(mfa_last_step=step)
        .execution_options(**_UNSYNCED)
    )
    return _rowcount(result) == 1


def consume_recovery_code(db: Session, *, user_id: int, digest: str, now: datetime) -> bool:
    """Mark the user's unused recovery code of ``digest`` used; True when this call used it."""
    code_id = db.execute(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == digest,
            RecoveryCode.used_at.is_(None),
        )
    ).scalar_one_or_none()
    if code_id is None:
        return False
    result = db.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(**_UNSYNCED)
    )
    return _rowcount(result) == 1


# --- one-time sign-in step tokens ----------------------------------------------------------


def issue_step_token(
    db: Session, *, user_id: int, step: str, now: datetime, lifetime: timedelta
) -> str:
    """A one-time token that lets the user's sign-in take ``step`` within ``lifetime``; only
    its digest is stored."""
    db.execute(
        delete(SigninStepToken)
        .where(SigninStepToken.expires_at < _moment(now - timedelta(days=1)))
        .execution_options(**_UNSYNCED)
    )
    token = secrets.token_urlsafe(32)
    db.add(
        SigninStepToken(
            user_id=user_id,
            step=step,
            token_hash=_digest(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def use_step_token(db: Session, *, token: str, user_id: int, step: str, now: datetime) -> bool:
    """Mark a step token used; True only for the one call that used it while it was valid."""
    if not token:
        return False
    result = db.execute(
        update(SigninStepToken)
        .where(
            SigninStepToken.token_hash == _digest(token),
            SigninStepToken.user_id == user_id,
            SigninStepToken.step == step,
            SigninStepToken.used_at.is_(None),
            SigninStepToken.expires_at > _moment(now),
        )
        .values(used_at=now)
        .execution_options(**_UNSYNCED)
    )
    return _rowcount(result) == 1


# --- sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRules:
    idle: timedelta
    absolute: timedelta
    # Writing last_seen on every request would turn every page view into a write.
    touch_every: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class FoundSession:
    """A live session as found: its row id, its user, and what is due now.

    ``ends`` is the reason it ends here and now (idle, absolute limit, user disabled), else
    None; ``touch_due`` says that its last use should be written.
    """

    session_id: int
    user: User
    ends: str | None
    touch_due: bool


def start_session(db: Session, *, user_id: int, now: datetime) -> str:
    """Open a server-side session for a user who has just signed in; return its token.

    Signing in checked the password, so the session starts re-authenticated.
    """
    token = secrets.token_urlsafe(32)
    db.add(
        UserSession(
            user_id=user_id,
            token_hash=_digest(token),
            created_at=now,
            last_seen_at=now,
            reauthenticated_at=now,
        )
    )
    return token


def find_session(
    db: Session, *, token: str, rules: SessionRules, now: datetime
) -> FoundSession | None:
    """The session of a token, or None when unknown or ended before; reads only.

    What it finds due (an end, a touch) is written by :func:`end_session_now` and
    :func:`touch_session`, each in a transaction of its own.
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
    return FoundSession(
        session_id=session_row.id,
        user=user,
        ends=reason,
        touch_due=reason is None and now - session_row.last_seen_at >= rules.touch_every,
    )


def touch_session(db: Session, *, session_id: int, now: datetime, rules: SessionRules) -> None:
    """Write a live session's last use, unless another request wrote it lately."""
    db.execute(
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.ended_at.is_(None),
            UserSession.last_seen_at <= _moment(now - rules.touch_every),
        )
        .values(last_seen_at=now)
        .execution_options(**_UNSYNCED)
    )


def end_session_now(db: Session, *, session_id: int, reason: str, now: datetime) -> bool:
    """End a session found due to end; True when this call ended it (not another request)."""
    result = db.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(**_UNSYNCED)
    )
    return _rowcount(result) == 1


def end_session(db: Session, *, token: str, reason: str, now: datetime) -> None:
    """End one session (sign-out)."""
    db.execute(
        update(UserSession)
        .where(UserSession.token_hash == _digest(token), UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(**_UNSYNCED)
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
    return _rowcount(result)


def mark_reauthenticated(db: Session, *, token: str, now: datetime) -> None:
    """Record on a live session that its user proved their password just now."""
    db.execute(
        update(UserSession)
        .where(UserSession.token_hash == _digest(token), UserSession.ended_at.is_(None))
        .values(reauthenticated_at=now)
        .execution_options(**_UNSYNCED)
    )


def reauthenticated_since(db: Session, *, token: str, since: datetime) -> bool:
    """Whether the live session of ``token`` proved its user's password at ``since`` or later."""
    if not token:
        return False
    found = db.execute(
        select(UserSession.id).where(
            UserSession.token_hash == _digest(token),
            UserSession.ended_at.is_(None),
            UserSession.reauthenticated_at >= _moment(since),
        )
    ).first()
    return found is not None


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
