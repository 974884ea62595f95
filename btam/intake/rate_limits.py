"""Rate limits of the anonymous tip line, counted in the case store."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from btam.accounts.models import SigninFailure


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` events per key within ``window`` (the anonymous tip line's limits).

    Events are counted in the case store under a keyed hash of the key, so every worker and
    host shares the count, and what is stored cannot be turned back into a client address.
    Rows older than the window are pruned as new ones arrive.
    """

    secret: bytes
    scope: str
    limit: int
    window: timedelta

    def _key(self, value: str) -> str:
        message = f"{self.scope}\x00{value}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def exceeded(self, db: Session, value: str, *, now: datetime) -> bool:
        count = db.execute(
            select(func.count(SigninFailure.id)).where(
                SigninFailure.scope == self.scope,
                SigninFailure.key_hash == self._key(value),
                SigninFailure.at > now - self.window,
            )
        ).scalar_one()
        return bool(count >= self.limit)

    def count(self, db: Session, value: str, *, now: datetime) -> None:
        """Count one event; the caller commits."""
        db.execute(
            delete(SigninFailure).where(
                SigninFailure.scope == self.scope, SigninFailure.at < now - self.window
            )
        )
        db.add(SigninFailure(scope=self.scope, key_hash=self._key(value), at=now))
