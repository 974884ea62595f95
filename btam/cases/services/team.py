"""Who works a case: members added by the lead (plan items give work: btam.plans)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from btam.access.actor import Discipline, Role
from btam.access.policy import Act
from btam.accounts import repository as accounts_repo
from btam.accounts.models import User
from btam.audit.actions import AuditAction
from btam.cases import repository
from btam.cases.lifecycle import CaseChange
from btam.cases.models import Case, CaseMember
from btam.cases.services.guard import CaseInScope, load_case
from btam.context import ServiceContext, Staged, staged
from btam.errors import NotFound, ValidationFailed

# Who can be added to a case or given work on it: the roles that may ever read case content.
WORKER_ROLES = frozenset({Role.TEAM_LEAD, Role.TEAM_MEMBER, Role.COUNSELOR})


def add_member(ctx: ServiceContext, number: str, *, user_id: int) -> Staged[None]:
    """The lead adds a user to the case (someone outside the team who works it).

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    :raises ValidationFailed: not an active worker, or a member already.
    """
    loaded = load_case(ctx, number, Act.MANAGE_CASE, change=CaseChange.TEAM)
    case, actor = loaded.case, loaded.access.actor
    if user_id not in {u.id for u in _assignable(ctx, case)}:
        raise ValidationFailed(
            "Choose an active member of the case's team, or a team member or counselor of the "
            "case's school.",
            field="user_id",
        )
    existing = repository.member(ctx.db, case.id, user_id)
    if existing is not None and existing.removed_at is None:
        raise ValidationFailed("Already a member of this case.", field="user_id")
    if existing is not None:
        existing.removed_at = None
        existing.added_at = ctx.now
        existing.added_by = actor.user_id
    else:
        ctx.db.add(
            CaseMember(case_id=case.id, user_id=user_id, added_at=ctx.now, added_by=actor.user_id)
        )
    return staged(
        None, loaded.event(AuditAction.CASE_MEMBER_ADDED, object_type="user", object_id=user_id)
    )


def remove_member(ctx: ServiceContext, number: str, *, user_id: int) -> Staged[None]:
    """The lead ends a member's work on the case.

    :raises NotFound: the user is not a member (or see ``load_case``).
    :raises AccessDenied, CaseClosed: see ``load_case``.
    """
    loaded = load_case(ctx, number, Act.MANAGE_CASE, change=CaseChange.TEAM)
    existing = repository.member(ctx.db, loaded.case.id, user_id)
    if existing is None or existing.removed_at is not None:
        raise NotFound("member")
    existing.removed_at = ctx.now
    return staged(
        None, loaded.event(AuditAction.CASE_MEMBER_REMOVED, object_type="user", object_id=user_id)
    )


def _assignable(ctx: ServiceContext, case: Case) -> Sequence[User]:
    # The case's team and the workers whose scope holds its school: not everyone of a state.
    return accounts_repo.users_near(
        ctx.db, WORKER_ROLES, school_id=case.school_id, team_id=case.team_id
    )


def assignable_users(ctx: ServiceContext, case: Case) -> list[tuple[int, str]]:
    """Active users who may be added to the case, by name."""
    return [(u.id, f"{u.display_name} ({u.role.label})") for u in _assignable(ctx, case)]


@dataclass(frozen=True)
class Worker:
    """Someone who works the case: on its team, added to it, or given work on it."""

    user_id: int
    name: str
    role: Role
    discipline: Discipline | None


def case_workers(ctx: ServiceContext, loaded: CaseInScope) -> list[Worker]:
    """The active users who work the case, by name: its team, its members, its assignees."""
    case, facts = loaded.case, loaded.facts
    team = accounts_repo.team(ctx.db, case.team_id)
    members = team.members if team and team.is_active else []
    # A team member works the team's cases in the schools of its own scope only.
    found = {
        u.id: u
        for u in members
        if u.is_active and (u.district_wide or case.school_id in {s.id for s in u.schools})
    }
    for user in accounts_repo.users_by_ids(ctx.db, facts.member_ids | facts.assignee_ids):
        if user.is_active:
            found.setdefault(user.id, user)
    return sorted(
        (Worker(u.id, u.display_name, u.role, u.discipline) for u in found.values()),
        key=lambda w: (w.name, w.user_id),
    )
