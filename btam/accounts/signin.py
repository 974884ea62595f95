"""Signing in and out: password, second factor, enrolment, sessions, throttling.

Each step of signing in is a use case of its own and commits its own transactions: a failed
attempt must be counted even when the answer is a refusal, and a password is checked outside
any write transaction (argon2 takes tens of milliseconds, a write lock must not wait on it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from enum import StrEnum

from btam.access.actor import ROLES_REQUIRING_MFA, Actor
from btam.accounts import authn, repository
from btam.accounts.models import RecoveryCode, User
from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import ANONYMOUS_ROLE
from btam.audit.events import AuditEvent
from btam.audit.writer import AuditUnavailable
from btam.context import ServiceContext
from btam.errors import ValidationFailed
from btam.security import mfa

log = logging.getLogger(__name__)


class Step(StrEnum):
    """What the sign-in needs next."""

    DONE = "done"
    SECOND_FACTOR = "second_factor"
    ENROL = "enrol"
    FAILED = "failed"
    LOCKED = "locked"


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


def check_password(
    ctx: ServiceContext, *, username: str, password: str, address: str
) -> PasswordResult:
    """Check a user name and password; say whether to stop, ask for a second factor or enrol.

    The answer is the same for an unknown user and a wrong password, and takes as long.

    :raises AuditUnavailable: when the attempt cannot be recorded (nothing is decided then).
    """
    if ctx.throttle.is_locked(ctx.db, username=username, address=address, now=ctx.now):
        ctx.record(AuditAction.AUTH_LOGIN_LOCKED, outcome=Outcome.DENIED)
        return PasswordResult(Step.LOCKED)
    user = repository.user_by_username(ctx.db, username.strip().casefold())
    matched = ctx.hashing.verify(user.password_hash if user else None, password)
    if not matched or user is None or not user.is_active:
        # The count is committed on its own first: an audit outage must never make guesses
        # free. Then the entry; if the audit store is down, the visitor gets the 503 page.
        ctx.throttle.record_failure(ctx.db, username=username, address=address, now=ctx.now)
        ctx.db.commit()
        # The typed name is never recorded: people type passwords into the name field.
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
    if ctx.hashing.needs_rehash(user.password_hash):
        user.password_hash = ctx.hashing.hash(password)
        ctx.db.commit()
    if user.mfa_enrolled:
        return PasswordResult(Step.SECOND_FACTOR, user.id)
    if _mfa_required(ctx, user):
        return PasswordResult(Step.ENROL, user.id)
    return PasswordResult(Step.DONE, user.id)


def check_second_factor(ctx: ServiceContext, *, user_id: int, code: str, address: str) -> bool:
    """Accept a current TOTP code or an unused recovery code for a user past the password step.

    :raises AuditUnavailable: when the attempt cannot be recorded.
    """
    user = _load_user(ctx, user_id)
    if user is None or user.mfa_secret is None:
        return False
    ctx = _as_user(ctx, user)
    if ctx.throttle.is_locked(ctx.db, username=user.username, address=address, now=ctx.now):
        ctx.record(
            AuditAction.AUTH_LOGIN_LOCKED,
            outcome=Outcome.DENIED,
            object_type="user",
            object_id=user.id,
        )
        return False
    step = mfa.accept_totp(user.mfa_secret, code, last_step=user.mfa_last_step)
    if step is not None:
        user.mfa_last_step = step
        ctx.commit_with_audit(
            AuditEvent(AuditAction.AUTH_MFA_SUCCESS, object_type="user", object_id=user.id)
        )
        return True
    recovery = repository.unused_recovery_code(ctx.db, user.id, mfa.recovery_code_digest(code))
    if recovery is not None and len(code) >= 16:
        recovery.used_at = ctx.now
        ctx.commit_with_audit(
            AuditEvent(AuditAction.AUTH_RECOVERY_CODE_USED, object_type="user", object_id=user.id)
        )
        return True
    ctx.throttle.record_failure(ctx.db, username=user.username, address=address, now=ctx.now)
    ctx.db.commit()
    ctx.record(
        AuditAction.AUTH_MFA_FAILURE, outcome=Outcome.DENIED, object_type="user", object_id=user.id
    )
    return False


@dataclass(frozen=True)
class EnrolmentSetup:
    """What the enrolment page shows: the QR code and the same secret for typing in."""

    secret: str
    qr_svg: str

    @property
    def grouped_secret(self) -> str:
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def pending_enrolment(ctx: ServiceContext, *, user_id: int) -> EnrolmentSetup:
    """The secret being enrolled for a user, created on first call and kept until confirmed.

    :raises ValidationFailed: when the account cannot sign in.
    """
    user = _load_user(ctx, user_id)
    if user is None:
        raise ValidationFailed("This account cannot sign in.")
    if user.mfa_pending_secret is None:
        user.mfa_pending_secret = mfa.new_totp_secret()
        ctx.db.commit()
    secret = user.mfa_pending_secret
    return EnrolmentSetup(secret, mfa.qr_svg(mfa.provisioning_uri(secret, user.username)))


def confirm_pending_enrolment(ctx: ServiceContext, *, user_id: int, code: str) -> list[str]:
    """Make the pending secret the user's second factor once a code from it checks out.

    Returns ten recovery codes, shown once and kept only as digests; earlier codes stop
    working and an earlier authenticator is replaced.

    :raises ValidationFailed: when there is no pending secret or the code does not match.
    :raises AuditUnavailable: when the enrolment cannot be recorded (nothing is stored).
    """
    user = _load_user(ctx, user_id)
    if user is None or user.mfa_pending_secret is None:
        raise ValidationFailed("Start the set-up again.")
    ctx = _as_user(ctx, user)
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
    codes = _replace_recovery_codes(ctx, user)
    ctx.commit_with_audit(
        AuditEvent(AuditAction.AUTH_MFA_ENROLLED, object_type="user", object_id=user.id)
    )
    return codes


def _replace_recovery_codes(ctx: ServiceContext, user: User) -> list[str]:
    for old in repository.recovery_codes_of(ctx.db, user.id):
        ctx.db.delete(old)
    codes = mfa.new_recovery_codes()
    for code in codes:
        ctx.db.add(RecoveryCode(user_id=user.id, code_hash=mfa.recovery_code_digest(code)))
    return codes


def confirm_identity(ctx: ServiceContext, *, actor: Actor, password: str) -> None:
    """Check the actor's password again before a change that would let a stolen session stay.

    :raises ValidationFailed: when the password is not right.
    """
    user = _load_user(ctx, actor.user_id)
    if user is None or not ctx.hashing.verify(user.password_hash, password):
        raise ValidationFailed("Your password is not right.", field="current_password")


def regenerate_recovery_codes(ctx: ServiceContext, *, actor: Actor, password: str) -> list[str]:
    """Replace the actor's recovery codes with ten new ones, shown once.

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


def complete_signin(ctx: ServiceContext, *, user_id: int, username_typed: str) -> str:
    """Open a server-side session for a user who passed every step; return its token.

    :raises ValidationFailed: when the account was disabled in the meantime.
    :raises AuditUnavailable: when the sign-in cannot be recorded (no session is opened).
    """
    user = _load_user(ctx, user_id)
    if user is None:
        raise ValidationFailed("This account cannot sign in.")
    ctx = _as_user(ctx, user)
    token = authn.start_session(ctx.db, user_id=user.id, now=ctx.now)
    ctx.throttle.clear_account(ctx.db, username=username_typed)
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

    :raises AuditUnavailable: when an expiry cannot be recorded.
    """
    found = authn.resume_session(ctx.db, token=token, rules=ctx.session_rules, now=ctx.now)
    if found is None:
        ctx.db.rollback()
        return None, None
    session_row, user, ended = found
    if ended is not None:
        ctx = _as_user(ctx, user)
        ctx.commit_with_audit(
            AuditEvent(
                AuditAction.AUTH_SESSION_EXPIRED,
                outcome=Outcome.DENIED,
                object_type="user",
                object_id=user.id,
                purpose=ended,
            )
        )
        return None, ended
    actor = actor_for(user, token)
    if ctx.db.is_modified(session_row):
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

    :raises ValidationFailed: when the current password is wrong or the new one is refused.
    :raises AuditUnavailable: when the change cannot be recorded (nothing changes).
    """
    user = _load_user(ctx, actor.user_id)
    if user is None or not ctx.hashing.verify(user.password_hash, current):
        raise ValidationFailed("The current password is not right.", field="current_password")
    problems = ctx.password_rules.problems(new, context=(user.username, user.display_name))
    if ctx.hashing.verify(user.password_hash, new):
        problems.append("Choose a password different from the current one.")
    if problems:
        raise ValidationFailed(" ".join(problems), field="new_password")
    user.password_hash = ctx.hashing.hash(new)
    user.password_changed_at = ctx.now
    user.must_change_password = False
    authn.end_user_sessions(
        ctx.db,
        user_id=user.id,
        reason="password_changed",
        now=ctx.now,
        keep_token=actor.session_token,
    )
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
    password_changed_at: str


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
        password_changed_at=user.password_changed_at.strftime("%Y-%m-%d %H:%M UTC"),
    )
