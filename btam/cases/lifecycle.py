"""A case's states, the transitions between them, and what each state lets services change.

One table each, pure and exhaustively tested: :data:`TRANSITIONS` (from a status, which
transition leads where) and :data:`ACCEPTS` (which changes a status accepts). Every service
that changes a case names its change and calls :func:`check_change` first; the status and
the level change only through the lifecycle service (``btam.cases.services.lifecycle``),
which calls :func:`next_status` and keeps every transition as history.

```
assessment ──determination──▶ management ──▶ monitoring ──▶ closed   (reopen with a reason)
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from btam.cases.terms import CaseStatus
from btam.errors import ValidationFailed


class Transition(StrEnum):
    """A move from one status to another, each with its reason kept in the case's history."""

    BEGIN_MANAGEMENT = "begin_management"  # a confirmed determination of a threat
    BEGIN_MONITORING = "begin_monitoring"  # the plan's items are done or discontinued
    RESUME_MANAGEMENT = "resume_management"  # monitoring found the plan must go on
    REASSESS = "reassess"  # new facts: back to assessment
    CLOSE = "close"  # a reasoned closure (or a determination of no threat)
    REOPEN_ASSESSMENT = "reopen_assessment"  # a closed case, reopened to assess again
    REOPEN_MANAGEMENT = "reopen_management"  # a closed case, reopened to manage again
    SET_LEVEL = "set_level"  # the level of concern changes, the status does not

    @property
    def label(self) -> str:
        return TRANSITION_LABELS[self]


TRANSITION_LABELS: Final = {
    Transition.BEGIN_MANAGEMENT: "Moved to management",
    Transition.BEGIN_MONITORING: "Moved to monitoring",
    Transition.RESUME_MANAGEMENT: "Back to management",
    Transition.REASSESS: "Back to assessment",
    Transition.CLOSE: "Closed",
    Transition.REOPEN_ASSESSMENT: "Reopened for assessment",
    Transition.REOPEN_MANAGEMENT: "Reopened for management",
    Transition.SET_LEVEL: "Level of concern changed",
}

A, MG, MO, C = (
    CaseStatus.ASSESSMENT,
    CaseStatus.MANAGEMENT,
    CaseStatus.MONITORING,
    CaseStatus.CLOSED,
)

TRANSITIONS: Final[dict[CaseStatus, dict[Transition, CaseStatus]]] = {
    A: {Transition.BEGIN_MANAGEMENT: MG, Transition.CLOSE: C, Transition.SET_LEVEL: A},
    MG: {
        Transition.BEGIN_MONITORING: MO,
        Transition.REASSESS: A,
        Transition.CLOSE: C,
        Transition.SET_LEVEL: MG,
    },
    MO: {
        Transition.RESUME_MANAGEMENT: MG,
        Transition.REASSESS: A,
        Transition.CLOSE: C,
        Transition.SET_LEVEL: MO,
    },
    C: {Transition.REOPEN_ASSESSMENT: A, Transition.REOPEN_MANAGEMENT: MG},
}


# Transitions the lead asks for on the case page; the others follow from the team's work (a
# confirmed determination, a finished plan).
BY_HAND: Final = frozenset(
    {Transition.CLOSE, Transition.REOPEN_ASSESSMENT, Transition.REOPEN_MANAGEMENT}
)


class CaseChange(StrEnum):
    """What a service changes on a case, other than its status."""

    RECORDS = "records"  # summary, people, notes, attachments, facts
    TEAM = "team"  # members added or removed by the lead
    WORK = "work"  # work assigned, marked done
    REPORTS = "reports"  # a report triaged into the case
    ASSESSMENT = "assessment"  # answers, determinations, notices
    PLAN = "plan"  # plan items, logs, referrals, notifications, reviews


OPEN_CHANGES: Final = frozenset(CaseChange)
ACCEPTS: Final[dict[CaseStatus, frozenset[CaseChange]]] = {
    A: OPEN_CHANGES,
    MG: OPEN_CHANGES,
    MO: OPEN_CHANGES,
    # A closed case is the record of what was done: only reopening changes it.
    C: frozenset(),
}

CLOSED_MESSAGE = "This case is closed. Reopen it, with a reason, before changing it."


class CaseClosed(ValidationFailed):
    """A change asked of a closed case (only reopening is allowed)."""


class InvalidTransition(ValidationFailed):
    """A transition the case's status does not allow."""


def check_change(status: CaseStatus, change: CaseChange, *, field: str | None = None) -> None:
    """Refuse a change the case's status does not accept (``field``: the form field to name).

    :raises CaseClosed: the case is closed.
    """
    if change not in ACCEPTS[status]:
        raise CaseClosed(CLOSED_MESSAGE, field=field)


def next_status(status: CaseStatus, transition: Transition) -> CaseStatus:
    """The status a transition leads to from ``status``.

    :raises InvalidTransition: the transition is not allowed from ``status``.
    """
    found = TRANSITIONS[status].get(transition)
    if found is None:
        raise InvalidTransition(
            f"A case in {status.label.lower()} cannot be {transition.label.lower()}."
        )
    return found


def transitions_from(status: CaseStatus, *, by_hand: bool = False) -> list[Transition]:
    """The transitions allowed from ``status`` (only those made by hand), in table order."""
    return [t for t in TRANSITIONS[status] if not by_hand or t in BY_HAND]
