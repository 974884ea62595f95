"""Compare the trail with the case store's record of applied changes; report every difference.

The unit of work appends its audit entries first and then commits the case store, recording
in the same case-store transaction the seq of each change entry it applied
(``applied_changes``). When that commit fails, it appends ``audit:change:not_applied`` naming
those entries. So, for a trail and a case store that agree:

* every entry of a change (``CHANGE_ACTIONS``) with outcome ``allowed`` has an applied record
  or a not-applied marker;
* every applied record names an entry, that entry records a change, and no marker says the
  change was not applied.

Only entries from the first applied seq onwards are checked: older entries were written
before the case store kept its record, and the result says so. Entries younger than
``settle`` are not yet expected to have a record (their unit of work may still be
committing the case store). This checks agreement, not integrity: ``btam audit verify``
checks that the trail itself is unaltered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from btam.audit.actions import CHANGE_ACTIONS, AuditAction, Outcome
from btam.audit.models import AuditEntry
from btam.audit.writer import utcnow

__all__ = ["DEFAULT_SETTLE", "Difference", "Problem", "ReconcileResult", "reconcile"]

DEFAULT_SETTLE = timedelta(minutes=2)
_BATCH = 5000
_CHANGES = frozenset(action.value for action in CHANGE_ACTIONS)


class Problem(StrEnum):
    """The kinds of disagreement between the trail and the case store."""

    NEVER_APPLIED = "recorded as a change the case store never applied, with no entry saying so"
    NO_ENTRY = "applied by the case store, but the trail has no such entry"
    NOT_A_CHANGE = "applied by the case store, but its entry records no change"
    MARKED_NOT_APPLIED = "applied by the case store, but the trail says it was not applied"


@dataclass(frozen=True)
class Difference:
    """One disagreement: the entry ``seq`` (its ``action``, when the trail has it)."""

    seq: int
    action: str | None
    problem: Problem


@dataclass(frozen=True)
class ReconcileResult:
    """The outcome of one reconciliation.

    ``checked_from`` is the first applied seq (None when the case store has recorded none,
    and nothing was checked); entries from there up to ``checked_to`` were compared, and
    ``settling`` newer entries were left for a later run. ``changes`` change entries and
    ``applied`` applied records were checked; ``differences`` were found, the first of them
    listed in ``first``.
    """

    ok: bool
    checked_from: int | None
    checked_to: int
    head_seq: int
    settling: int
    changes: int
    applied: int
    differences: int
    first: tuple[Difference, ...]

    @property
    def summary(self) -> str:
        """One line for the operator, saying plainly what was not checked."""
        if self.checked_from is None:
            return (
                f"nothing to reconcile: the case store has recorded no applied change "
                f"(the trail's {self.head_seq} entries were not checked)"
            )
        scope = f"entries {self.checked_from}-{self.checked_to}"
        if self.checked_from > 1:
            scope += f" (entries 1-{self.checked_from - 1} predate the case store's record)"
        if self.settling:
            scope += f"; {self.settling} newer entries are still settling"
        if self.ok:
            return (
                f"trail and case store agree: {self.changes} changes and {self.applied} "
                f"applied records checked in {scope}"
            )
        return f"trail and case store DIFFER: {self.differences} differences in {scope}"


class _Differences:
    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.count = 0
        self.first: list[Difference] = []

    def add(self, seq: int, action: str | None, problem: Problem) -> None:
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append(Difference(seq, action, problem))


def _ascending(seqs: Iterable[int]) -> Iterator[int]:
    previous = 0
    for seq in seqs:
        if seq <= previous:
            raise ValueError("applied seqs must be given in ascending order, each once")
        previous = seq
        yield seq


def _entries(
    sessions: sessionmaker[Session], first: int, last: int
) -> Iterator[tuple[int, str, str, datetime]]:
    after = first - 1
    while after < last:
        with sessions() as session:
            rows = session.execute(
                select(AuditEntry.seq, AuditEntry.action, AuditEntry.outcome, AuditEntry.at)
                .where(AuditEntry.seq > after, AuditEntry.seq <= last)
                .order_by(AuditEntry.seq)
                .limit(_BATCH)
            ).all()
        if not rows:
            return
        for row in rows:
            yield row.seq, row.action, row.outcome, row.at
        after = rows[-1].seq


def _marked_not_applied(sessions: sessionmaker[Session], first: int) -> set[int]:
    # Markers always come after the entry they name, so those at or after ``first`` are all
    # that can name a checked entry. They are rare: a set is fine.
    with sessions() as session:
        named = session.scalars(
            select(AuditEntry.object_id).where(
                AuditEntry.action == AuditAction.AUDIT_CHANGE_NOT_APPLIED.value,
                AuditEntry.object_type == "audit_entry",
                AuditEntry.seq >= first,
            )
        ).all()
    return {int(seq) for seq in named if seq is not None and seq.isdigit()}


def reconcile(
    audit_sessions: sessionmaker[Session],
    applied: Iterable[int],
    *,
    keep: int = 20,
    settle: timedelta = DEFAULT_SETTLE,
    now: datetime | None = None,
) -> ReconcileResult:
    """Compare the trail with the seqs the case store applied (ascending); report differences.

    ``keep`` differences are listed; all are counted. Entries written less than ``settle``
    before ``now`` need no applied record yet.

    :raises ValueError: when ``applied`` is not strictly ascending.
    :raises sqlalchemy.exc.SQLAlchemyError: when the audit store cannot be read.
    """
    seqs = _ascending(applied)
    found = _Differences(keep)
    with audit_sessions() as session:
        head = session.scalar(select(func.max(AuditEntry.seq))) or 0
    next_applied = next(seqs, None)
    if next_applied is None:
        return ReconcileResult(True, None, head, head, 0, 0, 0, 0, ())
    first = next_applied
    markers = _marked_not_applied(audit_sessions, first)
    settled_before = (now or utcnow()) - settle
    changes = applied_count = settling = 0

    for seq, action, outcome, at in _entries(audit_sessions, first, head):
        while next_applied is not None and next_applied < seq:
            # The trail has no entry at this seq (a gap: `verify` says more).
            found.add(next_applied, None, Problem.NO_ENTRY)
            applied_count += 1
            next_applied = next(seqs, None)
        is_change = action in _CHANGES
        if next_applied == seq:
            applied_count += 1
            next_applied = next(seqs, None)
            if not is_change:
                found.add(seq, action, Problem.NOT_A_CHANGE)
            elif seq in markers:
                found.add(seq, action, Problem.MARKED_NOT_APPLIED)
            if is_change and outcome == Outcome.ALLOWED.value:
                changes += 1
        elif is_change and outcome == Outcome.ALLOWED.value:
            if seq not in markers and at > settled_before:
                settling += 1
                continue
            changes += 1
            if seq not in markers:
                found.add(seq, action, Problem.NEVER_APPLIED)

    while next_applied is not None:
        found.add(next_applied, None, Problem.NO_ENTRY)
        applied_count += 1
        next_applied = next(seqs, None)

    return ReconcileResult(
        ok=found.count == 0,
        checked_from=first,
        checked_to=max(head, first),
        head_seq=head,
        settling=settling,
        changes=changes,
        applied=applied_count,
        differences=found.count,
        first=tuple(found.first),
    )
