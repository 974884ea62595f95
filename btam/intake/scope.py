"""What an actor may list of reports: SQL filters built from the policy's rules."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true

from btam.access.actor import Role
from btam.access.policy import CASE_RULES, Access, Act, Rel
from btam.accounts.models import Team, team_schools
from btam.intake.models import Report


def _covered_schools(team_ids: frozenset[int] | None = None) -> Select[tuple[int]]:
    """The schools an active team covers (of ``team_ids``, when given)."""
    query = (
        select(team_schools.c.school_id)
        .join(Team, Team.id == team_schools.c.team_id)
        .where(Team.is_active.is_(True))
    )
    if team_ids is not None:
        query = query.where(team_schools.c.team_id.in_(sorted(team_ids)))
    return query


def visible_reports(access: Access, act: Act = Act.TRIAGE) -> ColumnElement[bool]:
    """A filter on :class:`Report`: what ``can(access, act, report)`` allows (see ReportFacts).

    A report of a school no active team covers belongs to the district-wide fallback: the
    team leads and members whose scope is the whole district.
    """
    actor = access.actor
    allowed_by = CASE_RULES[act].get(actor.role, ())
    clauses: list[ColumnElement[bool]] = [true()] if Rel.ANY in allowed_by else []
    if Rel.TEAM in allowed_by and actor.team_ids:
        scope = true() if actor.district_wide else Report.school_id.in_(sorted(actor.school_ids))
        clauses.append(and_(Report.school_id.in_(_covered_schools(actor.team_ids)), scope))
        if actor.district_wide:
            clauses.append(Report.school_id.not_in(_covered_schools()))
    if Rel.REPORTER in allowed_by:
        # Never NULL for a tip (no reporter), so that NOT of the filter keeps the tips too.
        clauses.append(and_(Report.reporter_id.is_not(None), Report.reporter_id == actor.user_id))
    kept = or_(*clauses) if clauses else false()
    if act is Act.VIEW_REPORTER and actor.role is not Role.TEAM_LEAD:
        # A reporter who asked for confidentiality is known to the lead alone.
        return and_(kept, Report.reporter_confidential.is_(False))
    return kept
