"""The case lifecycle as a table: every status and every change and every transition."""

from __future__ import annotations

import pytest

from btam.cases.lifecycle import (
    ACCEPTS,
    BY_HAND,
    TRANSITIONS,
    CaseChange,
    CaseClosed,
    InvalidTransition,
    Transition,
    check_change,
    next_status,
    transitions_from,
)
from btam.cases.terms import CaseStatus

OPEN = (CaseStatus.ASSESSMENT, CaseStatus.MANAGEMENT, CaseStatus.MONITORING)

# What the workflow of DOMAIN.md allows, written out by hand: the table must say the same.
EXPECTED: dict[tuple[CaseStatus, Transition], CaseStatus] = {
    (CaseStatus.ASSESSMENT, Transition.BEGIN_MANAGEMENT): CaseStatus.MANAGEMENT,
    (CaseStatus.ASSESSMENT, Transition.CLOSE): CaseStatus.CLOSED,
    (CaseStatus.ASSESSMENT, Transition.SET_LEVEL): CaseStatus.ASSESSMENT,
    (CaseStatus.MANAGEMENT, Transition.BEGIN_MONITORING): CaseStatus.MONITORING,
    (CaseStatus.MANAGEMENT, Transition.REASSESS): CaseStatus.ASSESSMENT,
    (CaseStatus.MANAGEMENT, Transition.CLOSE): CaseStatus.CLOSED,
    (CaseStatus.MANAGEMENT, Transition.SET_LEVEL): CaseStatus.MANAGEMENT,
    (CaseStatus.MONITORING, Transition.RESUME_MANAGEMENT): CaseStatus.MANAGEMENT,
    (CaseStatus.MONITORING, Transition.REASSESS): CaseStatus.ASSESSMENT,
    (CaseStatus.MONITORING, Transition.CLOSE): CaseStatus.CLOSED,
    (CaseStatus.MONITORING, Transition.SET_LEVEL): CaseStatus.MONITORING,
    (CaseStatus.CLOSED, Transition.REOPEN_ASSESSMENT): CaseStatus.ASSESSMENT,
    (CaseStatus.CLOSED, Transition.REOPEN_MANAGEMENT): CaseStatus.MANAGEMENT,
}


@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("move", list(Transition))
def test_every_transition_from_every_status(status: CaseStatus, move: Transition) -> None:
    expected = EXPECTED.get((status, move))
    if expected is None:
        with pytest.raises(InvalidTransition):
            next_status(status, move)
    else:
        assert next_status(status, move) is expected


@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("change", list(CaseChange))
def test_every_change_in_every_status(status: CaseStatus, change: CaseChange) -> None:
    if status is CaseStatus.CLOSED:
        with pytest.raises(CaseClosed, match="Reopen it"):
            check_change(status, change)
    else:
        check_change(status, change)


def test_a_closed_case_only_reopens() -> None:
    assert set(TRANSITIONS[CaseStatus.CLOSED]) == {
        Transition.REOPEN_ASSESSMENT,
        Transition.REOPEN_MANAGEMENT,
    }
    assert ACCEPTS[CaseStatus.CLOSED] == frozenset()


def test_every_open_status_can_be_closed_and_every_status_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(CaseStatus) == set(ACCEPTS)
    assert all(TRANSITIONS[s][Transition.CLOSE] is CaseStatus.CLOSED for s in OPEN)


def test_by_hand_the_lead_only_closes_and_reopens() -> None:
    assert transitions_from(CaseStatus.MANAGEMENT, by_hand=True) == [Transition.CLOSE]
    assert set(transitions_from(CaseStatus.CLOSED, by_hand=True)) == {
        Transition.REOPEN_ASSESSMENT,
        Transition.REOPEN_MANAGEMENT,
    }
    assert {t for moves in TRANSITIONS.values() for t in moves} >= BY_HAND


def test_a_refused_change_names_the_field_it_was_asked_in() -> None:
    with pytest.raises(CaseClosed) as refused:
        check_change(CaseStatus.CLOSED, CaseChange.REPORTS, field="case_number")
    assert refused.value.field == "case_number"
