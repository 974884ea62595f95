"""The case list and the case page: what the actor may see, recorded before it is shown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from btam.access import policy
from btam.access.policy import BASIS, Act, Rel
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.accounts.models import User
from btam.assessment.catalog import DEFAULT_MODEL_ID
from btam.audit.actions import AuditAction
from btam.cases import dto, lifecycle, repository
from btam.cases.models import Case, EmergencyGrant, Note
from btam.cases.services.guard import CaseInScope, access_for, load_case
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext
from btam.people.services.matching import party_views


def user_names(ctx: ServiceContext, ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of the users ``ids`` (one query), for authors, assignees and the lead."""
    return accounts_repo.display_names(ctx.db, {i for i in ids if i is not None})


def case_header(ctx: ServiceContext, case: Case) -> dto.CaseHeader:
    """The minimum of a case: number, school, team, status, level, lead; no names of people."""
    school_row = accounts_repo.school(ctx.db, case.school_id)
    team_row = accounts_repo.team(ctx.db, case.team_id)
    lead = user_names(ctx, [case.lead_id]).get(case.lead_id or 0)
    return dto.CaseHeader(
        id=case.id,
        number=case.number,
        school=school_row.name if school_row else "",
        team=team_row.name if team_row else "",
        status=case.status,
        level=case.level,
        level_label=level_label(ctx, case, case.level),
        lead=lead,
        opened_at=case.opened_at,
    )


def level_label(ctx: ServiceContext, case: Case, level: str | None) -> str | None:
    """How the case's assessment model names ``level`` (its levels differ between models)."""
    if level is None:
        return None
    model = ctx.catalog.get(
        case.assessment_model or DEFAULT_MODEL_ID, case.assessment_model_version or 1
    )
    try:
        return model.level(level).label
    except KeyError:
        return level.capitalize()


# Cases per page of the case list.
CASES_PER_PAGE = 50


def list_cases(ctx: ServiceContext, *, page: int = 1) -> dto.CaseListPage:
    """One page of the cases the actor may see the header of, newest first (audited as one
    view). A page past the last shows the last.

    :raises AccessDenied: the role has no case list (recorded).
    """
    access = access_for(ctx)
    if not policy.allowed(access, Act.LIST_CASES, None):
        refuse(ctx, object_type="case_list", object_id="cases", reason="role", hide=False)
    page = max(page, 1)
    cases, total = repository.visible_cases_page(
        ctx.db, access, offset=(page - 1) * CASES_PER_PAGE, limit=CASES_PER_PAGE
    )
    pages = max(1, -(-total // CASES_PER_PAGE))
    if page > pages:
        page = pages
        cases, total = repository.visible_cases_page(
            ctx.db, access, offset=(page - 1) * CASES_PER_PAGE, limit=CASES_PER_PAGE
        )
    ctx.record(
        AuditAction.CASE_LIST_VIEWED,
        object_type="case_list",
        purpose=f"{len(cases)} shown, page {page} of {pages}",
    )
    return dto.CaseListPage(case_headers(ctx, cases), page, pages, total)


def case_headers(ctx: ServiceContext, cases: Sequence[Case]) -> list[dto.CaseHeader]:
    """The headers of ``cases``, with their schools, teams and leads read in one query each."""
    schools = {
        s.id: s.name for s in accounts_repo.schools_by_ids(ctx.db, (c.school_id for c in cases))
    }
    teams = {t.id: t.name for t in accounts_repo.teams_by_ids(ctx.db, (c.team_id for c in cases))}
    leads = user_names(ctx, (c.lead_id for c in cases))
    return [
        dto.CaseHeader(
            id=c.id,
            number=c.number,
            school=schools.get(c.school_id, ""),
            team=teams.get(c.team_id, ""),
            status=c.status,
            level=c.level,
            level_label=level_label(ctx, c, c.level),
            lead=leads.get(c.lead_id or 0),
            opened_at=c.opened_at,
        )
        for c in cases
    ]


def view_case(ctx: ServiceContext, number: str) -> dto.CaseView:
    """Everything of the case the actor may see; the view is recorded before it is shown.

    :raises NotFound: the case lies outside the actor's view (recorded).
    """
    return case_view(ctx, visit(ctx, number))


def visit(ctx: ServiceContext, number: str) -> CaseInScope:
    """Load the case for its page and record the view, before anything of it is shown.

    :raises NotFound: the case lies outside the actor's view (recorded).
    """
    loaded = load_case(ctx, number)
    case = loaded.case
    viewing = loaded.decide(Act.VIEW_CASE)
    ctx.record(
        AuditAction.CASE_RECORD_VIEWED,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        school_id=case.school_id,
        purpose=(viewing.basis if viewing else BASIS[Rel.ASSIGNED]),
    )
    return loaded


def case_view(ctx: ServiceContext, loaded: CaseInScope) -> dto.CaseView:
    """The case's core records the visitor of ``visit`` may see (nothing more is recorded)."""
    case, access = loaded.case, loaded.access
    viewing = loaded.decide(Act.VIEW_CASE)
    header = case_header(ctx, case)
    if not viewing:
        return dto.CaseView(header=header)
    readable = repository.notes(ctx.db, access, case.id)
    hidden = [n for n in repository.hidden_notes(ctx.db, access, case.id) if n.team_summary]
    files = repository.attachments(ctx.db, access, case.id)
    grant_rows = repository.grants(ctx.db, case.id)
    history = repository.status_changes(ctx.db, case.id)
    names = user_names(
        ctx,
        [
            *(n.author_id for n in [*readable, *hidden]),
            *(a.author_id for a in files),
            *(g.user_id for g in grant_rows),
            *(h.changed_by for h in history),
        ],
    )
    notes = [_note_view(n, names, readable=True) for n in readable]
    notes += [_note_view(n, names, readable=False) for n in hidden]
    is_lead = loaded.may(Act.MANAGE_CASE)
    by_grant = viewing.relation is Rel.GRANT
    return dto.CaseView(
        header=header,
        summary=case.summary,
        parties=party_views(ctx, case.id),
        notes=sorted(notes, key=lambda n: (n.created_at, n.id)),
        attachments=[
            dto.AttachmentView(
                id=a.id,
                filename=a.filename or "",
                content_type=a.content_type,
                size=a.size,
                record_class=a.record_class,
                author=names.get(a.author_id, ""),
                created_at=a.created_at,
            )
            for a in files
        ],
        members=_member_views(ctx, case),
        grants=[
            dto.GrantView(
                id=g.id,
                user=names.get(g.user_id, ""),
                threat=g.threat if is_lead else None,
                granted_at=g.granted_at,
                expires_at=g.expires_at,
                active=g.ended_at is None and g.expires_at > ctx.now,
            )
            for g in grant_rows
        ],
        full=True,
        can_edit=loaded.may(Act.EDIT_CASE) and case.status is not CaseStatus.CLOSED,
        can_manage=is_lead,
        can_assign=loaded.may(Act.ASSIGN_WORK) and case.status is not CaseStatus.CLOSED,
        by_emergency_grant=by_grant,
        grant_expires_at=_own_grant_end(loaded, grant_rows) if by_grant else None,
        reports=[
            (r.id, r.channel, r.received_at) for r in repository.reports_of_case(ctx.db, case.id)
        ],
        history=[
            dto.StatusChangeView(
                transition=h.transition,
                from_status=h.from_status,
                to_status=h.to_status,
                from_level=level_label(ctx, case, h.from_level),
                to_level=level_label(ctx, case, h.to_level),
                reason=h.reason,
                at=h.changed_at,
                by=names.get(h.changed_by or 0),
            )
            for h in history
        ],
        # Closing has a form of its own (a rationale and a final review: btam.plans).
        transitions=[
            t
            for t in lifecycle.transitions_from(case.status, by_hand=True)
            if t is not lifecycle.Transition.CLOSE
        ]
        if is_lead
        else [],
    )


def _own_grant_end(loaded: CaseInScope, grant_rows: Sequence[EmergencyGrant]) -> datetime | None:
    actor_id = loaded.access.actor.user_id
    return max((g.expires_at for g in grant_rows if g.user_id == actor_id), default=None)


def _note_view(note: Note, names: dict[int, str], *, readable: bool) -> dto.NoteView:
    return dto.NoteView(
        id=note.id,
        author=names.get(note.author_id, ""),
        record_class=note.record_class,
        created_at=note.created_at,
        body=note.body if readable else None,
        team_summary=note.team_summary,
    )


def _member_views(ctx: ServiceContext, case: Case) -> list[dto.MemberView]:
    team = accounts_repo.team(ctx.db, case.team_id)
    views: list[dto.MemberView] = []
    seen: set[int] = set()
    for user in sorted(team.members if team else [], key=lambda u: u.display_name):
        if user.is_active:
            views.append(_member_view(user, "team"))
            seen.add(user.id)
    for _membership, user in repository.members(ctx.db, case.id):
        if user.id not in seen:
            views.append(_member_view(user, "case"))
    return views


def _member_view(user: User, via: str) -> dto.MemberView:
    return dto.MemberView(
        user_id=user.id,
        name=user.display_name,
        role_label=user.role.label,
        discipline_label=user.discipline.label if user.discipline else None,
        agency=user.agency,
        via=via,
    )


def timeline(
    ctx: ServiceContext, loaded: CaseInScope, view: dto.CaseView
) -> list[dto.TimelineItem]:
    """The case core's events for the timeline: opened, reports, notes, files, status changes;
    only what the viewer may read."""
    if not view.full:
        return []
    items = [dto.TimelineItem(loaded.case.opened_at, "case", "Case opened", view.header.lead)]
    for report_id, channel, received in view.reports:
        items.append(dto.TimelineItem(received, "report", f"Report #{report_id}: {channel.label}"))
    for n in view.notes:
        items.append(dto.TimelineItem(n.created_at, "note", f"{n.record_class.label}", n.author))
    for a in view.attachments:
        items.append(dto.TimelineItem(a.created_at, "file", f"File {a.filename}", a.author))
    for h in view.history:
        items.append(dto.TimelineItem(h.at, "status", f"{h.transition.label}", h.by))
    return items
