"""A referral's statuses and the moves between them: one pure table, tested exhaustively.

```
drafted ──send──▶ sent ──accept──▶ accepted ──start──▶ service started ──complete──▶ completed
   │               ├──decline──▶ declined (reason)      ▲
   │               └──start─────────────────────────────┘
   └── any status still open ──close without service──▶ closed without service (reason)
```

A referral stays on the team's open list (``ReferralStatus.open``) until the service
happened or the reason it did not is recorded; while it is open, every move names the next
follow-up date.
"""

from __future__ import annotations

from typing import Final

from btam.errors import ValidationFailed
from btam.plans.referral_terms import ReferralMove, ReferralStatus

D, S, A, DE, SS, C, X = (
    ReferralStatus.DRAFTED,
    ReferralStatus.SENT,
    ReferralStatus.ACCEPTED,
    ReferralStatus.DECLINED,
    ReferralStatus.SERVICE_STARTED,
    ReferralStatus.COMPLETED,
    ReferralStatus.CLOSED_WITHOUT_SERVICE,
)
M = ReferralMove

TRANSITIONS: Final[dict[ReferralStatus, dict[ReferralMove, ReferralStatus]]] = {
    D: {M.SEND: S, M.CLOSE_WITHOUT_SERVICE: X},
    S: {
        M.ACCEPT: A,
        M.DECLINE: DE,
        M.START_SERVICE: SS,
        M.CLOSE_WITHOUT_SERVICE: X,
        M.FOLLOW_UP: S,
    },
    A: {M.START_SERVICE: SS, M.CLOSE_WITHOUT_SERVICE: X, M.FOLLOW_UP: A},
    SS: {M.COMPLETE: C, M.FOLLOW_UP: SS},
    # Ends: a new referral starts again; the record of what happened stays as it was.
    DE: {},
    C: {},
    X: {},
}

# Moves that record why the service did not happen: they need that reason.
NEEDS_REASON: Final = frozenset({M.DECLINE, M.CLOSE_WITHOUT_SERVICE})


class InvalidReferralMove(ValidationFailed):
    """A move the referral's status does not allow."""


def next_status(status: ReferralStatus, move: ReferralMove) -> ReferralStatus:
    """The status ``move`` leads to from ``status``.

    :raises InvalidReferralMove: the move is not allowed from ``status``.
    """
    found = TRANSITIONS[status].get(move)
    if found is None:
        raise InvalidReferralMove(
            f"A {status.label.lower()} referral cannot take the step “{move.label.lower()}”.",
            field="move",
        )
    return found


def moves_from(status: ReferralStatus) -> list[ReferralMove]:
    """The moves allowed from ``status``, in table order."""
    return list(TRANSITIONS[status])


def needs_follow_up(status: ReferralStatus) -> bool:
    """Whether a referral in ``status`` must name its next follow-up date (one still open;
    once the service started, a date to check on its completion is optional)."""
    return status.open
