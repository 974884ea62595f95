"""Signing in and out: password, second factor, enrolment, sessions, throttling.

Each step of signing in is a use case of its own and owns its transactions:

- An attempt (a password, a code, the password asked again on the account page) is first
  counted against the account name and the client address, by one statement whose result
  says whether this attempt may be checked at all, and that count is committed on its own
  before anything is checked. So parallel guesses are all counted, a refused attempt is never
  checked, an attempt that cannot be counted is refused (``StoreUnavailable``), and an audit
  outage never makes guesses free. A right answer gives its count back.
- A password is checked with no transaction open: argon2 takes tens of milliseconds, and a
  write lock (SQLite's, on every POST) must not wait on it.
- A TOTP step, a recovery code and the step token that ends a sign-in after enrolment are
  used by conditional UPDATEs whose row count decides, in the transaction that opens the
  session or records the success, committed audit first: one code opens one session, however
  many requests present it at once.
- A GET that must write (a session's last use or its end, a pending authenticator) does it
  in a transaction that begins by taking the write lock (``btam.db.begin_writing``) and
  decides again inside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from btam.access.actor import ROLES_REQUIRING_MFA, Actor
from btam.accounts import authn, repository
from btam.accounts.models import RecoveryCode, User
from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import ANONYMOUS_ROLE
from btam.audit.events import AuditEvent
from btam.audit.writer import AuditUnavailable
from btam.context import ServiceContext
from btam.db import begin_writing
from btam.errors import ValidationFailed
from btam.security import mfa

log = logging.getLogger(__name__)

# After enrolment, the recovery codes are shown; the sign-in ends with a one-time token
# good for this long.
STEP_TOKEN_LIFETIME = timedelta(minutes=5)
UNKNOWN_ADDRESS = "unknown"


class Step(StrEnum):
    """What the sign-in needs next."""

    DONE = "done"
    SECOND_FACTOR = "second_factor"
    ENROL = "enrol"
    FAILED = "failed"
    LOCKED = "locked"


class SigninLocked(Exception):
    """Too many attempts for this account name or client address: refused (and recorded)."""


@dataclass(frozen=True)
class PasswordResult:
    step: Step
    user_id: int | None = None


def _as_user(ctx: ServiceContext, user: User) -> ServiceContext:
    """Record entries under the user's own role once the password has shown who is there."""
    if ctx.audit_ctx.actor_role != ANONYMOUS_ROLE:
        return ctx
    return replace(
        ctx, audit_ctx=replace(ctx.audit_ctx, actor_id=user.id, actor_role=str(user.role))
    )


def _mfa_required(ctx: ServiceContext, user: User) -> bool:
    return ctx.settings.signin_mfa_required and user.role in ROLES_REQUIRING_MFA


def _load_user(ctx: ServiceContext, user_id: int) -> User | None:
    user = repository.user(ctx.db, user_id)
    return user if user is not None and user.is_active else None


def _count(ctx: ServiceContext, *, username: str, address: str) -> authn.Attempt:
    """Count an attempt and commit the count before anything is checked.

    :raises StoreUnavailable: when it cannot be counted.
    """
    attempt = ctx.throttle.count_attempt(ctx.db, username=username, address=address, now=ctx.now)
    authn.commit_count(ctx.db)
    return attempt


def _refuse_locked(ctx: ServiceContext, user: User | None = None) -> None:
    """Record a refusal for a lockout; the caller answers it.

    :raises AuditUnavailable: when the refusal cannot be recorded.
    """
    ctx.record(
        AuditAction.AUTH_LOGIN_LOCKED,
        outcome=Outcome.DENIED,
        object_type="user" if user is not None else None,
        object_id=user.id if user is not None else None,
    )


def check_password(
    ctx: ServiceContext, *, username: str, password: str, address: str
) -> PasswordResult:
    """Check a user name and password; say whether to stop, ask for a second factor or enrol.

    The answer is the same for an unknown user and a wrong password, and takes as long.

    :raises StoreUnavailable: when the attempt cannot be counted (nothing is checked).
    :raises AuditUnavailable: when the attempt cannot be recorded (nothing is decided then).
    """
    attempt = ctx.throttle.count_attempt(ctx.db, username=username, address=address, now=ctx.now)
    user = (
        repository.user_by_username(ctx.db, username.strip().casefold())
        if attempt.admitted
        else None
    )
    stored = user.password_hash if user is not None else None
    authn.commit_count(ctx.db)
    if not attempt.admitted:
        _refuse_locked(ctx)
        return PasswordResult(Step.LOCKED)
    matched = ctx.hashing.verify(stored, password)
    if not matched or user is None or not user.is_active:
        # The attempt stays counted. The typed name is never recorded: people type passwords
        # into the name field.
        ctx.record(
            AuditAction.AUTH_LOGIN_FAILURE,
            outcome=Outcome.DENIED,
            object_type="user",
            object_id=user.id if user else None,
        )
        return PasswordResult(Step.FAILED)
    # Recorded before the answer, so that with the audit store down a right password gets
    # the same 503 as a wrong one and reveals nothing.
    _as_user(ctx, user).record(
        AuditAction.AUTH_PASSWORD_ACCEPTED, object_type="user", object_id=user.id
    )
    rehashed = ctx.hashing.hash(password) if ctx.hashing.needs_rehash(user.password_hash) else None
    ctx.throttle.give_back(ctx.db, attempt)
    if rehashed is not None:
        user.password_hash = rehashed
    ctx.db.commit()
    if user.mfa_enrolled:
        return PasswordResult(Step.SECOND_FACTOR, user.id)
    if _mfa_required(ctx, user):
        return PasswordResult(Step.ENROL, user.id)
    return PasswordResult(Step.DONE, user.id)


def check_second_factor(ctx: ServiceContext, *, user_id: int, code: str, address: str) -> Step:
    """Accept a current TOTP code or an unused recovery code for a user past the password step.

    Answers ``DONE`` for the one request that used the code, ``LOCKED`` when the attempt was
    refused for a lockout (recorded) or this failure used up the attempts, else ``FAILED``.

    :raises StoreUnavailable: when the attempt cannot be counted (nothing is checked).
    :raises AuditUnavailable: when the attempt cannot be recorded.
    """
    user = _load_user(ctx, user_id)
    if user is None or user.mfa_secret is None:
        ctx.db.commit()
        return Step.FAILED
    ctx = _as_user(ctx, user)
    attempt = _count(ctx, username=user.username, address=address)
    if not attempt.admitted:
        _refuse_locked(ctx, user)
        return Step.LOCKED
    step = mfa.accept_totp(user.mfa_secret, code, last_step=user.mfa_last_step)
    if step is not None and authn.consume_totp_step(ctx.db, user_id=user.id, step=step):
        ctx.throttle.give_back(ctx.db, attempt)
        ctx.commit_with_audit(
            AuditEvent(AuditAction.AUTH_MFA_SUCCESS, object_type="user", object_id=user.id)
        )
        return Step.DONE
    # Recovery codes carry 80 bits: anything shorter is a mistyped TOTP code, not one of them.
    if len(code) >= 16 and authn.consume_recovery_code(
        ctx.db, user_id=user.id, digest=mfa.recovery_code_digest(code), now=ctx.now
    ):
        ctx.throttle.give_back(ctx.db, attempt)
        ctx.commit_with_audit(
            AuditEvent(AuditAction.AUTH_RECOVERY_CODE_USED, object_type="user", object_id=user.id)
        )
        return Step.DONE
    ctx.db.commit()
    ctx.record(
        AuditAction.AUTH_MFA_FAILURE, outcome=Outcome.DENIED, object_type="user", object_id=user.id
    )
    locked = ctx.throttle.is_locked(ctx.db, username=user.username, address=address, now=ctx.now)
    ctx.db.commit()
    return Step.LOCKED if locked else Step.FAILED


@dataclass(frozen=True)
class EnrolmentSetup:
    """What the enrolment page shows: the QR code and the same secret for typing in."""

    secret: str
    qr_svg: str

    @property
    def grouped_secret(self) -> str:
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def _setup_of(ctx: ServiceContext, user: User) -> EnrolmentSetup:
    # A secret that can become someone's second factor is shown only with a trail entry.
    ctx = _as_user(ctx, user)
    made = False
    if user.mfa_pending_secret is None:
        # Often a GET: write in a transaction that takes the write lock first, and decide
        # again in it (two tabs must not each make a secret and show different QR codes).
        begin_writing(ctx.db)
        locked_user = repository.user_for_change(ctx.db, user.id)
        if locked_user is None:
            raise ValidationFailed("This account cannot sign in.")
        user = locked_user
        if user.mfa_pending_secret is None:
            user.mfa_pending_secret = mfa.new_totp_secret()
            made = True
            ctx.commit_with_audit(
                AuditEvent(
                    AuditAction.AUTH_MFA_SETUP_STARTED, object_type="user", object_id=user.id
                )
            )
        else:
            ctx.db.commit()
    if not made:
        ctx.record(AuditAction.AUTH_MFA_SETUP_VIEWED, object_type="user", object_id=user.id)
    secret = user.mfa_pending_secret
    if secret is None:
        raise ValidationFailed("Start the set-up again.")
    return EnrolmentSetup(secret, mfa.qr_svg(mfa.provisioning_uri(secret, user.username)))


def pending_enrolment(ctx: ServiceContext, *, user_id: int) -> EnrolmentSetup:
    """The secret being enrolled for a user, created on first call and kept until confirmed.

    :raises ValidationFailed: when the account cannot sign in.
    """
    user = _load_user(ctx, user_id)
    if user is None:
        raise ValidationFailed("This account cannot sign in.")
    return _setup_of(ctx, user)


def _enrolling_user(ctx: ServiceContext, user_id: int, address: str) -> User:
    """The user enrolling during sign-in, unless a lockout or an earlier enrolment refuses.

    :raises SigninLocked: the account name or the address is locked out (recorded).
    :raises ValidationFailed: the account cannot sign in, or has enrolled already (a saved
        copy of an earlier step's cookie must not replace an authenticator).
    """
    user = _load_user(ctx, user_id)
    if user is None:
        raise ValidationFailed("This account cannot sign in.")
    if ctx.throttle.is_locked(ctx.db, username=user.username, address=address, now=ctx.now):
        ctx.db.commit()
        _refuse_locked(_as_user(ctx, user), user)
        raise SigninLocked
    if user.mfa_enrolled:
        raise ValidationFailed("Start again with your user name and password.")
    return user


def signin_enrolment(ctx: ServiceContext, *, user_id: int, address: str) -> EnrolmentSetup:
    """The authenticator a user past the password step enrols before their first session.

    :raises SigninLocked: the account name or the address is locked out (recorded).
    :raises ValidationFailed: the account cannot sign in or has enrolled already.
    :raises AuditUnavailable: when a refusal cannot be recorded.
    """
    return _setup_of(ctx, _enrolling_user(ctx, user_id, address))


def _enrol(ctx: ServiceContext, user_id: int, code: str) -> tuple[User, list[str]]:
    """Stage the pending secret as the user's second factor once a code from it checks out.

    :raises ValidationFailed: when there is no pending secret or the code does not match.
    """
    # Read afresh and held: two confirmations at once must not both enrol.
    user = repository.user_for_change(ctx.db, user_id)
    if user is None or not user.is_active or user.mfa_pending_secret is None:
        raise ValidationFailed("Start the set-up again.")
    step = mfa.accept_totp(user.mfa_pending_secret, code, last_step=0)
    if step is None:
        raise ValidationFailed(
            "That code does not match. Check that the time on your device is right and enter "
            "the code the app shows now.",
            field="code",
        )
    user.mfa_secret = user.mfa_pending_secret
    user.mfa_pending_secret = None
    user.mfa_enrolled_at = ctx.now
    user.mfa_last_step = step
    return user, _replace_recovery_codes(ctx, user)


def confirm_pending_enrolment(ctx: ServiceContext, *, user_id: int, code: str) -> list[str]:
    """Make the pending secret the user's second factor once a code from it checks out.

    Returns ten recovery codes, shown once and kept only as digests; earlier codes stop
    working and an earlier authenticator is replaced.

    :raises ValidationFailed: when there is no pending secret or the code does not match.
    :raises AuditUnavailable: when the enrolment cannot be recorded (nothing is stored).
    """
    user, codes = _enrol(ctx, user_id, code)
    _as_user(ctx, user).commit_with_audit(
        AuditEvent(AuditAction.AUTH_MFA_ENROLLED, object_type="user", object_id=user.id)
    )
    return codes


@dataclass(frozen=True)
class Enrolled:
    """An enrolment during sign-in: the recovery codes to show once, and the one-time token
    that lets the sign-in finish once they are stored."""

    codes: list[str]
    step_token: str


def confirm_signin_enrolment(
    ctx: ServiceContext, *, user_id: int, code: str, address: str
) -> Enrolled:
    """Enrol the authenticator of a user past the password step, and issue the one-time token
    that opens their session (:func:`finish_enrolled_signin`).

    :raises SigninLocked: the account name or the address is locked out (recorded).
    :raises ValidationFailed: no pending secret, a code that does not match, or an account
        that cannot sign in or has enrolled already.
    :raises AuditUnavailable: when the enrolment cannot be recorded (nothing is stored).
    """
    _enrolling_user(ctx, user_id, address)
    user, codes = _enrol(ctx, user_id, code)
    token = authn.issue_step_token(
        ctx.db, user_id=user.id, step=Step.DONE, now=ctx.now, lifetime=STEP_TOKEN_LIFETIME
    )
    _as_user(ctx, user).commit_with_audit(
        AuditEvent(AuditAction.AUTH_MFA_ENROLLED, object_type="user", object_id=user.id)
    )
    return Enrolled(codes, token)


def _replace_recovery_codes(ctx: ServiceContext, user: User) -> list[str]:
    for old in repository.recovery_codes_of(ctx.db, user.id):
        ctx.db.delete(old)
    codes = mfa.new_recovery_codes()
    for code in codes:
        ctx.db.add(RecoveryCode(user_id=user.id, code_hash=mfa.recovery_code_digest(code)))
    return codes


def _address(ctx: ServiceContext) -> str:
    return ctx.audit_ctx.client_address or UNKNOWN_ADDRESS


def _password_again(ctx: ServiceContext, user: User, password: str, *, message: str) -> None:
    """Check a signed-in user's password again, counted like a sign-in.

    :raises SigninLocked: too many attempts for the account or the address (recorded).
    :raises ValidationFailed: a wrong password (counted and recorded).
    :raises StoreUnavailable: when the attempt cannot be counted (nothing is checked).
    :raises AuditUnavailable: when a refusal cannot be recorded.
    """
    attempt = _count(ctx, username=user.username, address=_address(ctx))
    if not attempt.admitted:
        _refuse_locked(ctx, user)
        raise SigninLocked
    if not ctx.hashing.verify(user.password_hash, password):
        ctx.record(
            AuditAction.AUTH_REAUTH_FAILURE,
            outcome=Outcome.DENIED,
            object_type="user",
            object_id=user.id,
        )
        raise ValidationFailed(message, field="current_password")
    # Given back at once: what follows (a refused new password) must not keep it counted.
    ctx.throttle.give_back(ctx.db, attempt)
    ctx.db.commit()


def confirm_identity(ctx: ServiceContext, *, actor: Actor, password: str) -> None:
    """Check the actor's password again before a change that would let a stolen session stay,
    and record on the session that it was proved now (administrative changes ask for that).

    Throttled like signing in, with the same counters.

    :raises SigninLocked: too many attempts for the account or the address (recorded).
    :raises ValidationFailed: when the password is not right.
    :raises StoreUnavailable: when the attempt cannot be counted (nothing is checked).
    :raises AuditUnavailable: when the check cannot be recorded.
    """
    user = _load_user(ctx, actor.user_id)
    if user is None:
        raise ValidationFailed("Your password is not right.", field="current_password")
    _password_again(ctx, user, password, message="Your password is not right.")
    authn.mark_reauthenticated(ctx.db, token=actor.session_token, now=ctx.now)
    ctx.commit_with_audit(
        AuditEvent(AuditAction.AUTH_REAUTH_SUCCESS, object_type="user", object_id=user.id)
    )


def regenerate_recovery_codes(ctx: ServiceContext, *, actor: Actor, password: str) -> list[str]:
    """Replace the actor's recovery codes with ten new ones, shown once.

    :raises SigninLocked: too many attempts for the account or the address (recorded).
    :raises ValidationFailed: when the password is not right or no authenticator is set up.
    :raises AuditUnavailable: when the change cannot be recorded.
    """
    confirm_identity(ctx, actor=actor, password=password)
    user = _load_user(ctx, actor.user_id)
    if user is None or not user.mfa_enrolled:
        raise ValidationFailed("Set up an authenticator app first.")
    codes = _replace_recovery_codes(ctx, user)
    ctx.commit_with_audit(
        AuditEvent(
            AuditAction.AUTH_MFA_ENROLLED,
            object_type="user",
            object_id=user.id,
            purpose="recovery codes replaced",
        )
    )
    return codes


def remaining_recovery_codes(ctx: ServiceContext, *, user_id: int) -> int:
    """How many unused recovery codes the user has."""
    return repository.unused_recovery_code_count(ctx.db, user_id)


def _open_session(ctx: ServiceContext, user: User) -> str:
    """Stage a new session for ``user`` and forget the account's attempts; return its token."""
    token = authn.start_session(ctx.db, user_id=user.id, now=ctx.now)
    ctx.throttle.clear_account(ctx.db, username=user.username)
    return token


def complete_signin(ctx: ServiceContext, *, user_id: int) -> str:
    """Open a server-side session for a user who passed every step; return its token.

    :raises ValidationFailed: when the account was disabled in the meantime.
    :raises AuditUnavailable: when the sign-in cannot be recorded (no session is opened).
    """
    user = _load_user(ctx, user_id)
    if user is None:
        raise ValidationFailed("This account cannot sign in.")
    ctx = _as_user(ctx, user)
    token = _open_session(ctx, user)
    ctx.commit_with_audit(
        AuditEvent(AuditAction.AUTH_LOGIN_SUCCESS, object_type="user", object_id=user.id)
    )
    return token


def finish_enrolled_signin(
    ctx: ServiceContext, *, user_id: int, step_token: str, address: str
) -> str:
    """Open the session of a sign-in that has just enrolled, with its one-time step token.

    The token is used up in the transaction that opens the session, so a saved copy of the
    sign-in's cookie opens nothing more, before or after the user signs out.

    :raises SigninLocked: the account name or the address is locked out (recorded).
    :raises ValidationFailed: an unknown, used or expired token, or an account that cannot
        sign in.
    :raises AuditUnavailable: when the sign-in cannot be recorded (no session is opened).
    """
    user = _load_user(ctx, user_id)
    if user is None:
        raise ValidationFailed("This account cannot sign in.")
    ctx = _as_user(ctx, user)
    if ctx.throttle.is_locked(ctx.db, username=user.username, address=address, now=ctx.now):
        ctx.db.commit()
        _refuse_locked(ctx, user)
        raise SigninLocked
    if not authn.use_step_token(
        ctx.db, token=step_token, user_id=user.id, step=Step.DONE, now=ctx.now
    ):
        ctx.db.rollback()
        raise ValidationFailed("Start again with your user name and password.")
    token = _open_session(ctx, user)
    ctx.commit_with_audit(
        AuditEvent(AuditAction.AUTH_LOGIN_SUCCESS, object_type="user", object_id=user.id)
    )
    return token


def actor_for(user: User, token: str) -> Actor:
    """The actor a live session stands for."""
    return Actor(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        discipline=user.discipline,
        district_wide=user.district_wide,
        school_ids=frozenset(s.id for s in user.schools),
        team_ids=frozenset(t.id for t in user.teams if t.is_active),
        must_change_password=user.must_change_password,
        agency=user.agency,
        session_token=token,
    )


def resume(ctx: ServiceContext, *, token: str) -> tuple[Actor | None, str | None]:
    """The actor of a session token, or None and the reason the session ended just now.

    Reads in the request's transaction and ends it; the writes it may call for (the
    session's last use, its end) each go in a transaction of their own that takes the write
    lock first, so that a GET never fails on another worker's commit.

    :raises AuditUnavailable: when an expiry cannot be recorded.
    """
    found = authn.find_session(ctx.db, token=token, rules=ctx.session_rules, now=ctx.now)
    if found is None:
        ctx.db.commit()
        return None, None
    if found.ends is not None:
        ctx = _as_user(ctx, found.user)
        begin_writing(ctx.db)
        if not authn.end_session_now(
            ctx.db, session_id=found.session_id, reason=found.ends, now=ctx.now
        ):
            # Another request ended it first, and recorded it.
            ctx.db.commit()
            return None, found.ends
        ctx.commit_with_audit(
            AuditEvent(
                AuditAction.AUTH_SESSION_EXPIRED,
                outcome=Outcome.DENIED,
                object_type="user",
                object_id=found.user.id,
                purpose=found.ends,
            )
        )
        return None, found.ends
    actor = actor_for(found.user, token)
    if found.touch_due:
        begin_writing(ctx.db)
        authn.touch_session(
            ctx.db, session_id=found.session_id, now=ctx.now, rules=ctx.session_rules
        )
    ctx.db.commit()
    return actor, None


def sign_out(ctx: ServiceContext, *, actor: Actor) -> None:
    """End the actor's current session on the server, even when the audit store is down.

    The one exception to failing closed: refusing a sign-out would leave a live session on a
    shared computer, which is worse than a sign-out the trail misses (the outage is logged).
    """
    authn.end_session(ctx.db, token=actor.session_token, reason="signed_out", now=ctx.now)
    try:
        ctx.commit_with_audit(
            AuditEvent(
                AuditAction.AUTH_SESSION_SIGNED_OUT, object_type="user", object_id=actor.user_id
            )
        )
    except AuditUnavailable:
        authn.end_session(ctx.db, token=actor.session_token, reason="signed_out", now=ctx.now)
        ctx.db.commit()
        log.error("audit store unavailable: a sign-out was carried out without its entry")


def end_other_sessions(ctx: ServiceContext, *, actor: Actor) -> int:
    """End every other session of the actor (a lost laptop, a shared computer).

    :raises AuditUnavailable: when the change cannot be recorded.
    """
    count = authn.end_user_sessions(
        ctx.db,
        user_id=actor.user_id,
        reason="ended_by_user",
        now=ctx.now,
        keep_token=actor.session_token,
    )
    ctx.commit_with_audit(
        AuditEvent(AuditAction.ACCOUNT_SESSIONS_ENDED, object_type="user", object_id=actor.user_id)
    )
    return count


def change_password(ctx: ServiceContext, *, actor: Actor, current: str, new: str) -> None:
    """Change the actor's password and end every other session.

    The current password is checked like a sign-in attempt, with the same counters.

    :raises SigninLocked: too many attempts for the account or the address (recorded).
    :raises ValidationFailed: when the current password is wrong or the new one is refused.
    :raises StoreUnavailable: when the attempt cannot be counted (nothing is checked).
    :raises AuditUnavailable: when the change cannot be recorded (nothing changes).
    """
    user = _load_user(ctx, actor.user_id)
    if user is None:
        raise ValidationFailed("The current password is not right.", field="current_password")
    _password_again(ctx, user, current, message="The current password is not right.")
    problems = ctx.password_rules.problems(new, context=(user.username, user.display_name))
    if ctx.hashing.verify(user.password_hash, new):
        problems.append("Choose a password different from the current one.")
    if problems:
        raise ValidationFailed(" ".join(problems), field="new_password")
    new_hash = ctx.hashing.hash(new)
    user.password_hash = new_hash
    user.password_changed_at = ctx.now
    user.must_change_password = False
    authn.end_user_sessions(
        ctx.db,
        user_id=user.id,
        reason="password_changed",
        now=ctx.now,
        keep_token=actor.session_token,
    )
    authn.mark_reauthenticated(ctx.db, token=actor.session_token, now=ctx.now)
    ctx.commit_with_audit(
        AuditEvent(AuditAction.ACCOUNT_PASSWORD_CHANGED, object_type="user", object_id=user.id)
    )


@dataclass(frozen=True)
class AccountSummary:
    """What the account page shows the user about their own sign-in."""

    display_name: str
    username: str
    role_label: str
    discipline_label: str | None
    mfa_enrolled: bool
    mfa_required: bool
    recovery_codes_left: int
    other_sessions: int
    password_changed_at: datetime


def account_summary(ctx: ServiceContext, *, actor: Actor) -> AccountSummary:
    """The actor's own sign-in state.

    :raises ValidationFailed: when the account no longer exists or is disabled.
    """
    user = _load_user(ctx, actor.user_id)
    if user is None:
        raise ValidationFailed("This account cannot sign in.")
    return AccountSummary(
        display_name=user.display_name,
        username=user.username,
        role_label=user.role.label,
        discipline_label=user.discipline.label if user.discipline else None,
        mfa_enrolled=user.mfa_enrolled,
        mfa_required=_mfa_required(ctx, user),
        recovery_codes_left=remaining_recovery_codes(ctx, user_id=user.id),
        other_sessions=authn.live_session_count(
            ctx.db, user_id=user.id, now=ctx.now, rules=ctx.session_rules
        )
        - 1,
        password_changed_at=user.password_changed_at,
    )
