"""Which schools no active team covers, and how many reports wait there: the district
administrator's warning (their reports reach only the district-wide fallback)."""

from __future__ import annotations

from btam.access.permissions import Permission
from btam.access.refusal import require_permission
from btam.accounts.services.organisation import list_schools
from btam.context import ServiceContext
from btam.intake import dto, repository


def uncovered_schools(ctx: ServiceContext) -> list[dto.UncoveredSchool]:
    """Every active school no active team covers, with the number of reports waiting there
    (counts only: the administrator sees no report).

    :raises AccessDenied: the actor may not manage schools.
    """
    require_permission(ctx, Permission.ADMIN_SCHOOLS_MANAGE)
    waiting = repository.waiting_by_school(ctx.db)
    return [
        dto.UncoveredSchool(name=s.name, code=s.code, waiting=waiting.get(s.id, 0))
        for s in list_schools(ctx)
        if s.uncovered
    ]
