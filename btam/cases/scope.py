"""What an actor may list of cases, notes and attachments: SQL filters from the policy rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from btam.access.actor import Actor, Role
from btam.access.policy import CASE_RULES, MEETING_ACTS, RECORD_CLASS_READERS, Access, Act, Rel
from btam.access.record_classes import RecordClass
from btam.cases.models import Attachment, Case, CaseMember, Note
from btam.plans.models import PlanItem


def _ids(values: Iterable[int]) -> list[int]:
    return sorted(set(values))


def _scope_filter(actor: Actor) -> ColumnElement[bool]:
    return true() if actor.district_wide else Case.school_id.in_(_ids(actor.school_ids))


def visible_cases(access: Access, act: Act = Act.VIEW_HEADER) -> ColumnElement[bool]:
    """A filter on :class:`Case` keeping the cases ``can(access, act, case)`` allows."""
    actor = access.actor
    allowed_by = CASE_RULES[act].get(actor.role, ())
    if Rel.ANY in allowed_by:
        return true()
    if act is Act.OPEN_CASE or act in MEETING_ACTS:
        return false()  # decided on a team and a school, or on a meeting, never on a case
    if act is Act.READ_PRIVATE_LOG:
        return false()  # decided on each log entry, never on a case
    clauses: list[ColumnElement[bool]] = []
    on_team = and_(Case.team_id.in_(_ids(actor.team_ids)), _scope_filter(actor))
    member = Case.id.in_(
        select(CaseMember.case_id).where(
            CaseMember.user_id == actor.user_id, CaseMember.removed_at.is_(None)
        )
    )
    granted = Case.id.in_(_ids(access.grants)) if access.grants else false()
    if Rel.TEAM in allowed_by or (Rel.LEAD in allowed_by and actor.role is Role.TEAM_LEAD):
        clauses.append(on_team)
    elif Rel.LEAD in allowed_by:
        clauses.append(and_(on_team, Case.lead_id == actor.user_id))
    if Rel.MEMBER in allowed_by:
        clauses.append(member)
    if Rel.ASSIGNED in allowed_by:
        clauses.append(
            Case.id.in_(select(PlanItem.case_id).where(PlanItem.owner_id == actor.user_id))
        )
    if Rel.SCHOOL in allowed_by:
        clauses.append(_scope_filter(actor))
    if Rel.GRANT in allowed_by:
        clauses.append(granted)
    if Rel.OUTSIDE in allowed_by:
        clauses.append(~or_(on_team, member, granted))
    return or_(*clauses) if clauses else false()


def readable_records(access: Access, model: Any) -> ColumnElement[bool]:
    """Records of ``model`` (one with ``case_id``, ``record_class`` and ``author_id``) on a
    case the actor may view, of a class it may read (see ``policy._can_read_record``)."""
    actor = access.actor
    viewable = select(Case.id).where(visible_cases(access, Act.VIEW_CASE))
    # The team's own relation to the case, without grants: grants read education records only.
    official = select(Case.id).where(visible_cases(Access(actor), Act.VIEW_CASE))
    readable: list[ColumnElement[bool]] = [
        model.record_class == RecordClass.EDUCATION,
        and_(model.author_id == actor.user_id, model.case_id.in_(official)),
    ]
    for klass, readers in RECORD_CLASS_READERS.items():
        if readers is not None and actor.discipline in readers:
            readable.append(and_(model.record_class == klass, model.case_id.in_(official)))
    return and_(model.case_id.in_(viewable), or_(*readable))


def visible_notes(access: Access) -> ColumnElement[bool]:
    """A filter on :class:`Note`: notes the actor may read."""
    return readable_records(access, Note)


def visible_attachments(access: Access) -> ColumnElement[bool]:
    """A filter on :class:`Attachment`: attachments the actor may read."""
    return readable_records(access, Attachment)
