"""Load a case with its facts and the policy's decision in one call; refusals are audited.

Every case service starts here: :func:`load_case` fetches the case through the actor's scope
(404 outside it, recorded), computes its facts once, asks the policy for the act (403 when
refused, recorded) and, for a change, asks the lifecycle whether the case's status accepts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from btam.access import policy
from btam.access.policy import Access, Act, CaseFacts, Decision
from btam.access.refusal import actor_of, refuse
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.cases import lifecycle, repository
from btam.cases.lifecycle import CaseChange
from btam.cases.models import Case
from btam.context import ServiceContext

CASE_NUMBER = re.compile(r"[0-9]{4}-[0-9]{4,6}")


def access_for(ctx: ServiceContext) -> Access:
    """The actor with the cases its active emergency grants open.

    :raises AccessDenied: nobody is signed in.
    """
    actor = actor_of(ctx)
    return Access(actor, repository.active_grants(ctx.db, actor.user_id, ctx.now))


@dataclass
class CaseInScope:
    """A case the actor may at least see the header of, its facts, and decisions asked so far."""

    case: Case
    facts: CaseFacts
    access: Access
    _decisions: dict[Act, Decision] = field(default_factory=dict, repr=False)

    def decide(self, act: Act) -> Decision:
        """The policy's decision for ``act`` on this case (asked once per act)."""
        if act not in self._decisions:
            self._decisions[act] = policy.allowed(self.access, act, self.facts)
        return self._decisions[act]

    def may(self, act: Act) -> bool:
        return self.decide(act).allowed

    def event(
        self,
        action: AuditAction,
        *,
        object_type: str = "case",
        object_id: str | int | None = None,
        purpose: str | None = None,
    ) -> AuditEvent:
        """An audit event about this case (or a record of it: ``object_type``/``object_id``)."""
        return AuditEvent(
            action,
            object_type=object_type,
            object_id=self.case.id if object_id is None else object_id,
            case_id=self.case.id,
            school_id=self.case.school_id,
            purpose=purpose,
        )


def load_case(
    ctx: ServiceContext,
    number: str,
    act: Act = Act.VIEW_HEADER,
    *,
    change: CaseChange | None = None,
    access: Access | None = None,
    scope: Act = Act.VIEW_HEADER,
) -> CaseInScope:
    """The case ``number`` with its facts, if the actor may ``act`` on it (and make ``change``).

    ``scope`` is the act whose list the case must be on to be found at all: a case outside
    it is answered like one that does not exist.

    :raises NotFound: the number is malformed or the case lies outside the actor's view (the
        refusal is recorded; the answer is the same as for a case that does not exist).
    :raises AccessDenied: the case is visible but ``act`` is refused (recorded).
    :raises CaseClosed: ``change`` is not accepted in the case's status.
    """
    access = access or access_for(ctx)
    if not CASE_NUMBER.fullmatch(number or ""):
        refuse(ctx, object_type="case", object_id=number, reason="malformed case number")
    case = repository.case_by_number(ctx.db, access, number, scope)
    if case is None:
        refuse(ctx, object_type="case", object_id=number, reason=f"not visible for {scope.value}")
    loaded = CaseInScope(case, repository.facts(ctx.db, case), access)
    decision = loaded.decide(act)
    if not decision:
        refuse(
            ctx,
            object_type="case",
            object_id=case.number,
            reason=decision.reason,
            case_id=case.id,
            school_id=case.school_id,
            hide=False,
        )
    if change is not None:
        lifecycle.check_change(case.status, change)
    return loaded
