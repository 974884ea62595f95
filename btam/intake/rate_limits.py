"""Rate limits of the anonymous tip line, counted in the case store under salted keys.

Every worker and host shares the counts. A client is keyed by HMAC(salt, address), where the
salt is random, belongs to the limit's current window and is kept in the case store only
while that window lasts: when the window ends, a new salt replaces it, and the pruning
(:func:`prune`, run by ``btam.housekeeping``) deletes expired salts and events. What is stored
of a window that has passed cannot be matched to an address by brute force, not even by
someone holding every key of the app; within the window, the salt and the secret key are
both in the app's hands, as they must be to count.

Windows are fixed: a limit's window starts with the first event after the last one ended.
IPv6 clients are keyed by their /64 (a home or a phone gets a whole /64 to pick from).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from btam.db import insert_ignoring_conflicts
from btam.intake.models import RateLimitAlert, RateLimitEvent, RateLimitSalt, SpentProof

SALT_BYTES = 32


def client_key(address: str | None) -> str | None:
    """What a client is counted as: its IPv4 address, or the /64 of its IPv6 address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` events per key within one window of ``window``."""

    scope: str
    limit: int
    window: timedelta

    def _current_salt(self, db: Session, now: datetime) -> RateLimitSalt | None:
        row = db.execute(
            select(RateLimitSalt)
            .where(RateLimitSalt.scope == self.scope)
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        return row if row is not None and row.expires_at > now else None

    def _salt_for_counting(self, db: Session, now: datetime) -> RateLimitSalt:
        """The current window's salt, starting a new window (a new salt) when none is."""
        current = self._current_salt(db, now)
        if current is not None:
            return current
        fresh = {
            "salt": secrets.token_bytes(SALT_BYTES),
            "started_at": now,
            "expires_at": now + self.window,
        }
        if not insert_ignoring_conflicts(db, RateLimitSalt, scope=self.scope, **fresh):
            # The old window's salt is overwritten, not kept: its keys become unmatchable.
            db.execute(
                update(RateLimitSalt)
                .where(RateLimitSalt.scope == self.scope, RateLimitSalt.expires_at <= now)
                .values(**fresh)
            )
        current = self._current_salt(db, now)
        if current is None:  # pragma: no cover - a window that ended within this call
            raise RuntimeError("no current rate-limit window")
        return current

    def _key(self, salt: bytes, value: str) -> str:
        return hmac.new(salt, f"{self.scope}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def count_of(self, db: Session, value: str, *, now: datetime) -> int:
        """How many events ``value`` has in the current window."""
        salt = self._current_salt(db, now)
        if salt is None:
            return 0
        return int(
            db.execute(
                select(func.count(RateLimitEvent.id)).where(
                    RateLimitEvent.scope == self.scope,
                    RateLimitEvent.key_hash == self._key(salt.salt, value),
                    RateLimitEvent.expires_at > now,
                )
            ).scalar_one()
        )

    def exceeded(self, db: Session, value: str, *, now: datetime) -> bool:
        """Whether ``value`` has used up the current window's events."""
        return self.count_of(db, value, now=now) >= self.limit

    def window_of(self, db: Session, *, now: datetime) -> tuple[datetime, datetime] | None:
        """When the current window started and when it ends, if one is open."""
        salt = self._current_salt(db, now)
        return (salt.started_at, salt.expires_at) if salt is not None else None

    def count(self, db: Session, value: str, *, now: datetime) -> None:
        """Count one event of ``value``; the caller commits."""
        salt = self._salt_for_counting(db, now)
        db.add(
            RateLimitEvent(
                scope=self.scope,
                key_hash=self._key(salt.salt, value),
                at=now,
                expires_at=salt.expires_at,
            )
        )


def claim_proof(db: Session, challenge: str, *, expires_at: datetime) -> bool:
    """Mark a proof of work as used; False when it was used before (it buys one tip only)."""
    digest = hashlib.sha256(challenge.encode()).hexdigest()
    return insert_ignoring_conflicts(db, SpentProof, challenge_hash=digest, expires_at=expires_at)


def raise_alert(db: Session, limit: RateLimit, *, now: datetime) -> bool:
    """Record that ``limit`` was passed in its current window; True the first time only."""
    window = limit.window_of(db, now=now)
    expires_at = window[1] if window is not None else now + limit.window
    if insert_ignoring_conflicts(
        db, RateLimitAlert, scope=limit.scope, raised_at=now, expires_at=expires_at
    ):
        return True
    # An alert of a window that has ended and not been pruned yet gives way to this one.
    result = db.execute(
        update(RateLimitAlert)
        .where(RateLimitAlert.scope == limit.scope, RateLimitAlert.expires_at <= now)
        .values(raised_at=now, expires_at=expires_at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def alert_of(db: Session, limit: RateLimit, *, now: datetime) -> datetime | None:
    """When ``limit`` was passed in its current window, if it was."""
    row = db.execute(
        select(RateLimitAlert)
        .where(RateLimitAlert.scope == limit.scope, RateLimitAlert.expires_at > now)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    return row.raised_at if row is not None else None


def prune(db: Session, *, now: datetime) -> dict[str, int]:
    """Delete every salt, event, spent proof and alert whose window has ended; the caller
    commits. How many rows of each went."""
    removed = {}
    for name, model in (
        ("salts", RateLimitSalt),
        ("events", RateLimitEvent),
        ("proofs", SpentProof),
        ("alerts", RateLimitAlert),
    ):
        result = db.execute(delete(model).where(model.expires_at <= now))
        removed[name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return removed
