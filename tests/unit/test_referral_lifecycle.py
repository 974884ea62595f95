"""A referral's statuses and moves: the table, every pair of status and move, exhaustively."""

from __future__ import annotations

import pytest

from btam.plans.referral_lifecycle import (
    NEEDS_REASON,
    TRANSITIONS,
    InvalidReferralMove,
    moves_from,
    needs_follow_up,
    next_status,
)
from btam.plans.referral_terms import OPEN_STATUSES, ReferralMove, ReferralStatus

S, M = ReferralStatus, ReferralMove

# The expected table, written out again: a change to the code's table must change this too.
EXPECTED = {
    (S.DRAFTED, M.SEND): S.SENT,
    (S.DRAFTED, M.CLOSE_WITHOUT_SERVICE): S.CLOSED_WITHOUT_SERVICE,
    (S.SENT, M.ACCEPT): S.ACCEPTED,
    (S.SENT, M.DECLINE): S.DECLINED,
    (S.SENT, M.START_SERVICE): S.SERVICE_STARTED,
    (S.SENT, M.CLOSE_WITHOUT_SERVICE): S.CLOSED_WITHOUT_SERVICE,
    (S.SENT, M.FOLLOW_UP): S.SENT,
    (S.ACCEPTED, M.START_SERVICE): S.SERVICE_STARTED,
    (S.ACCEPTED, M.CLOSE_WITHOUT_SERVICE): S.CLOSED_WITHOUT_SERVICE,
    (S.ACCEPTED, M.FOLLOW_UP): S.ACCEPTED,
    (S.SERVICE_STARTED, M.COMPLETE): S.COMPLETED,
    (S.SERVICE_STARTED, M.FOLLOW_UP): S.SERVICE_STARTED,
}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("move", list(M))
def test_every_status_and_move(status: ReferralStatus, move: ReferralMove) -> None:
    expected = EXPECTED.get((status, move))
    if expected is None:
        with pytest.raises(InvalidReferralMove) as refused:
            next_status(status, move)
        assert refused.value.field == "move"
    else:
        assert next_status(status, move) is expected


def test_the_table_names_every_status() -> None:
    assert set(TRANSITIONS) == set(S)
    assert {(s, m) for s, moves in TRANSITIONS.items() for m in moves} == set(EXPECTED)
    for status in S:
        assert moves_from(status) == list(TRANSITIONS[status])


def test_open_means_no_service_yet_and_no_reason_recorded() -> None:
    assert {S.DRAFTED, S.SENT, S.ACCEPTED} == OPEN_STATUSES
    for status in S:
        assert status.open == (status in OPEN_STATUSES)
        assert needs_follow_up(status) == status.open


def test_the_ends_take_no_more_steps() -> None:
    for end in (S.DECLINED, S.COMPLETED, S.CLOSED_WITHOUT_SERVICE):
        assert moves_from(end) == []


def test_an_open_referral_ends_only_through_service_or_a_reason() -> None:
    """No move leads from an open status straight to an end without the service (completed
    comes after service started) or a recorded reason."""
    for (status, move), after in EXPECTED.items():
        if status.open and not after.open and after is not S.SERVICE_STARTED:
            assert move in NEEDS_REASON, (status, move)
    assert {M.DECLINE, M.CLOSE_WITHOUT_SERVICE} == NEEDS_REASON
