"""Load a meeting with its facts and the policy's decision in one call; refusals are audited."""

from __future__ import annotations

from dataclasses import dataclass, field

from btam.access import policy
from btam.access.policy import Access, Act, Decision, MeetingFacts, Rel
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.assessment.catalog import DEFAULT_MODEL_ID, AssessmentModel
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.cases.services.guard import access_for
from btam.context import ServiceContext
from btam.meetings import repository
from btam.meetings.models import Meeting


@dataclass
class MeetingInScope:
    """A meeting the actor may at least open, its facts, and the decisions asked so far."""

    meeting: Meeting
    facts: MeetingFacts
    access: Access
    _decisions: dict[Act, Decision] = field(default_factory=dict, repr=False)

    def decide(self, act: Act) -> Decision:
        if act not in self._decisions:
            self._decisions[act] = policy.allowed(self.access, act, self.facts)
        return self._decisions[act]

    def may(self, act: Act) -> bool:
        return self.decide(act).allowed

    @property
    def guest(self) -> bool:
        """The actor sees the meeting as a guest: only what the lead shares."""
        return self.decide(Act.VIEW_MEETING).relation is Rel.GUEST

    def event(
        self,
        action: AuditAction,
        *,
        object_type: str = "meeting",
        object_id: int | None = None,
        case_id: int | None = None,
        school_id: int | None = None,
        purpose: str | None = None,
    ) -> AuditEvent:
        """An audit event about this meeting (or a record of it); ids only."""
        return AuditEvent(
            action,
            object_type=object_type,
            object_id=self.meeting.id if object_id is None else object_id,
            case_id=case_id,
            school_id=school_id,
            purpose=purpose,
        )


def load_meeting(
    ctx: ServiceContext, meeting_id: int, act: Act = Act.VIEW_MEETING
) -> MeetingInScope:
    """The meeting, if the actor may ``act`` on it.

    :raises NotFound: no such meeting, or one the actor may not open (recorded).
    :raises AccessDenied: the actor may open the meeting but not ``act`` on it (recorded).
    """
    access = access_for(ctx)
    row = repository.visible_meeting(ctx.db, access, meeting_id, Act.VIEW_MEETING)
    if row is None:
        refuse(ctx, object_type="meeting", object_id=meeting_id, reason="not visible")
    loaded = MeetingInScope(row, repository.meeting_facts(ctx.db, row), access)
    decision = loaded.decide(act)
    if not decision:
        refuse(ctx, object_type="meeting", object_id=row.id, reason=decision.reason, hide=False)
    return loaded


def district_model(ctx: ServiceContext) -> AssessmentModel:
    """The assessment model the district follows now (its quorum is the meeting's)."""
    district = accounts_repo.first_district(ctx.db)
    chosen = (district.assessment_model if district else None) or DEFAULT_MODEL_ID
    return ctx.catalog.latest(chosen)
