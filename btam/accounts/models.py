"""The organisation and its people: district, schools, teams, users and their sign-in state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from btam.access.actor import Discipline, Role
from btam.db import CaseBase, UTCDateTime, utcnow, vocabulary
from btam.security.fields import encrypted_text
from btam.security.keys import ACCOUNTS_SCOPE

team_schools = Table(
    "team_schools",
    CaseBase.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("school_id", ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True),
)

team_members = Table(
    "team_members",
    CaseBase.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

user_schools = Table(
    "user_schools",
    CaseBase.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("school_id", ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True),
)


class District(CaseBase):
    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The assessment model new cases follow (an id of the catalog; None: the default).
    assessment_model: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # An IANA zone name: times are stored in UTC and shown, and typed, in this zone.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # Days from one review of a case to the next, by its level of concern (DOMAIN.md).
    review_days_imminent: Mapped[int] = mapped_column(default=1, server_default="1")
    review_days_high: Mapped[int] = mapped_column(default=7, server_default="7")
    review_days_moderate: Mapped[int] = mapped_column(default=14, server_default="14")
    review_days_low: Mapped[int] = mapped_column(default=30, server_default="30")


class School(CaseBase):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Team(CaseBase):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    schools: Mapped[list[School]] = relationship(secondary=team_schools, order_by=School.name)
    members: Mapped[list[User]] = relationship(
        secondary=team_members, back_populates="teams", order_by="User.display_name"
    )


class User(CaseBase):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(vocabulary(Role))
    discipline: Mapped[Discipline | None] = mapped_column(vocabulary(Discipline), nullable=True)
    district_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    # A team member employed outside the schools (police department, community clinic): a
    # school official for this work only, so pages remind them not to pass records on.
    agency: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # TOTP secrets: whoever reads one can make codes, so both are stored encrypted.
    mfa_secret = encrypted_text("mfa_secret", scope=ACCOUNTS_SCOPE)
    # Held between showing the QR code and the user's first good code; never active.
    mfa_pending_secret = encrypted_text("mfa_pending_secret", scope=ACCOUNTS_SCOPE)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The last TOTP time step accepted, so that a code seen over a shoulder cannot be replayed.
    mfa_last_step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    schools: Mapped[list[School]] = relationship(secondary=user_schools, order_by=School.name)
    teams: Mapped[list[Team]] = relationship(
        secondary=team_members, back_populates="members", order_by=Team.name
    )

    @property
    def mfa_enrolled(self) -> bool:
        return self.mfa_enrolled_at is not None


class RecoveryCode(CaseBase):
    """A one-time MFA recovery code, kept only as a SHA-256 digest (it carries 80 random bits)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class UserSession(CaseBase):
    """A server-side sign-in session; the cookie carries a token whose digest is stored here.

    Ending the row (sign-out, password change, disable) makes a copied cookie worthless.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # When the user last proved their password in this session (signing in counts): changes
    # a stolen session must not make, such as the district administrator's, ask for a recent one.
    reauthenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SigninStepToken(CaseBase):
    """A one-time token that lets a sign-in in progress take its next step on the server's word.

    The cookie carries the token, the table its digest; using it marks it used, so a saved
    copy of the cookie cannot take the step again. Short-lived.
    """

    __tablename__ = "signin_step_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SigninCounter(CaseBase):
    """Sign-in attempts counted per account name or per client address in the current window.

    One row per key, changed only by single statements (an upsert, a conditional update), so
    that attempts made at the same moment by several workers are each counted once and each
    learn their own rank: the count decides before a password or code is checked. Keys are
    keyed digests, so the table shows neither user names nor addresses.
    """

    __tablename__ = "signin_counters"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Attempts of the window that failed or are still being checked (a success gives its back).
    attempts: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    # The last attempt let through to be checked; a lockout lasts from there.
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Whether the statement that last wrote the row let its attempt through: what RETURNING
    # hands back to that statement alone.
    admitted: Mapped[bool] = mapped_column(Boolean)


class SigninFailure(CaseBase):
    """One event counted against a key within a window: the anonymous tip line's rate limits.

    Kept in the database so every gunicorn worker and host sees the same counts; keys are
    keyed digests, so the table shows no client address. (Sign-in attempts are counted in
    ``signin_counters``.)
    """

    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_scope_key_at", "scope", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
