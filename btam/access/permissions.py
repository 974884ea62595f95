"""The closed set of route-level permissions, named ``scope:resource:action``, per role.

Route permissions only say what kind of page a role may open; which record it may see is
decided by the policy at fetch time.
"""

from __future__ import annotations

from enum import StrEnum

from btam.access.actor import Role


class Permission(StrEnum):
    ACCOUNT_SELF_MANAGE = "account:self:manage"
    DASHBOARD_VIEW = "dashboard:home:view"
    ADMIN_USERS_MANAGE = "admin:users:manage"
    ADMIN_TEAMS_MANAGE = "admin:teams:manage"
    ADMIN_SCHOOLS_MANAGE = "admin:schools:manage"
    AUDIT_TRAIL_READ = "audit:trail:read"
    AUDIT_TRAIL_EXPORT = "audit:trail:export"
    AUDIT_GRANTS_REVIEW = "audit:grants:review"
    CASES_VIEW = "cases:case:view"
    CASES_WORK = "cases:case:work"
    CASES_OPEN = "cases:case:open"
    PEOPLE_SEARCH = "cases:person:search"
    PEOPLE_VIEW = "cases:person:view"
    DISCLOSURES_REVIEW = "cases:disclosures:review"
    EMERGENCY_REQUEST = "cases:emergency:request"
    REPORTS_SUBMIT = "intake:report:submit"
    TRIAGE_WORK = "intake:triage:work"
    MEETINGS_VIEW = "meetings:meeting:view"
    MEETINGS_WORK = "meetings:meeting:work"


_EVERY_ROLE = frozenset(
    {Permission.ACCOUNT_SELF_MANAGE, Permission.DASHBOARD_VIEW, Permission.REPORTS_SUBMIT}
)
# The team's pages; which case each may open is the policy's decision (btam.security.policy).
_TEAM = frozenset(
    {
        Permission.CASES_VIEW,
        Permission.CASES_WORK,
        Permission.CASES_OPEN,
        Permission.PEOPLE_SEARCH,
        Permission.PEOPLE_VIEW,
        Permission.EMERGENCY_REQUEST,
        Permission.TRIAGE_WORK,
        Permission.MEETINGS_VIEW,
        Permission.MEETINGS_WORK,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.DISTRICT_ADMIN: _EVERY_ROLE
    | {
        Permission.ADMIN_USERS_MANAGE,
        Permission.ADMIN_TEAMS_MANAGE,
        Permission.ADMIN_SCHOOLS_MANAGE,
    },
    Role.TEAM_LEAD: _EVERY_ROLE | _TEAM,
    Role.TEAM_MEMBER: _EVERY_ROLE | _TEAM,
    Role.COUNSELOR: _EVERY_ROLE
    | {
        Permission.CASES_VIEW,
        Permission.CASES_WORK,
        Permission.PEOPLE_VIEW,
        Permission.EMERGENCY_REQUEST,
        # A counselor may be a meeting's guest: the lead decides what it sees.
        Permission.MEETINGS_VIEW,
    },
    Role.STAFF: _EVERY_ROLE,
    Role.AUDITOR: _EVERY_ROLE
    | {
        Permission.AUDIT_TRAIL_READ,
        Permission.AUDIT_TRAIL_EXPORT,
        Permission.AUDIT_GRANTS_REVIEW,
        Permission.PEOPLE_VIEW,
        Permission.DISCLOSURES_REVIEW,
    },
}


def role_has(role: Role, permission: Permission) -> bool:
    """Answer whether the role's route-level permissions include ``permission``."""
    return permission in ROLE_PERMISSIONS[role]
