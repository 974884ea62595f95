"""Cases: open, list, view (audited), and the team's work on one case.

Every function fetches through the policy's filters (``repository``), decides with
``policy.require``, and commits through ``commit_with_audit``. A case number outside what the
actor may see answers 404, the same as one that does not exist, and the refusal is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from btam.accounts.models import User
from btam.audit.actions import AuditAction
from btam.cases import dto, repository
from btam.cases.models import (
    Assignment,
    Attachment,
    Case,
    CaseMember,
    CaseParty,
    Note,
    Person,
)
from btam.cases.services.access import access_for, clean_text, refuse
from btam.cases.services.people import PersonData, find_or_create_person, party_views
from btam.cases.terms import Part, PersonKind, RecordClass
from btam.errors import NotFound, ValidationFailed
from btam.security import policy
from btam.security.actor import Role
from btam.security.policy import Access, Act, TeamFacts
from btam.services import ServiceContext

CASE_NUMBER = re.compile(r"[0-9]{4}-[0-9]{4,6}")
SUMMARY_MAX = 20_000
NOTE_MAX = 50_000
SUMMARY_FOR_TEAM_MAX = 5_000
TASK_MAX = 2_000
# Who can be added to a case or given work on it: the roles that may ever read case content.
WORKER_ROLES = frozenset({Role.TEAM_LEAD, Role.TEAM_MEMBER, Role.COUNSELOR})
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "text/plain": (),
}


@dataclass(frozen=True)
class OpenedCase:
    number: str


def _case(ctx: ServiceContext, access: Access, number: str, act: Act) -> Case:
    """The case if the actor may ``act`` on it; else the refusal is recorded and 404 raised."""
    if not CASE_NUMBER.fullmatch(number or ""):
        refuse(ctx, object_type="case", object_id=number, reason="malformed case number")
    case = repository.case_by_number(ctx.db, access, number, act)
    if case is None:
        refuse(ctx, object_type="case", object_id=number, reason=f"not visible for {act.value}")
    return case


def _require(ctx: ServiceContext, access: Access, act: Act, case: Case) -> None:
    decision = policy.can(access, act, repository.facts(ctx.db, case))
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


def _names(ctx: ServiceContext, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    return {i: u.display_name for i in wanted if (u := repository.user(ctx.db, i)) is not None}


def _header(ctx: ServiceContext, case: Case) -> dto.CaseHeader:
    school_row = repository.school(ctx.db, case.school_id)
    team_row = repository.team(ctx.db, case.team_id)
    lead = repository.user(ctx.db, case.lead_id) if case.lead_id else None
    return dto.CaseHeader(
        id=case.id,
        number=case.number,
        school=school_row.name if school_row else "",
        team=team_row.name if team_row else "",
        status=case.status,
        level=case.level,
        lead=lead.display_name if lead else None,
        opened_at=case.opened_at,
    )


def authorize(ctx: ServiceContext, number: str, act: Act) -> None:
    """Refuse (audited) before a form is even read when the actor may not ``act`` on the case.

    The services check again when they change anything; this makes a refusal the same, and
    recorded, whatever the form held.
    """
    access = access_for(ctx)
    _require(ctx, access, act, _case(ctx, access, number, Act.VIEW_HEADER))


# --------------------------------------------------------------------------- lists and pages


def list_cases(ctx: ServiceContext) -> list[dto.CaseHeader]:
    """The cases the actor may see the header of, newest first (audited as one view)."""
    access = access_for(ctx)
    if not policy.can(access, Act.LIST_CASES, None):
        refuse(ctx, object_type="case_list", object_id="cases", reason="role", hide=False)
    cases = repository.visible_cases(ctx.db, access)
    ctx.record(AuditAction.CASE_LIST_VIEWED, object_type="case_list", purpose=f"{len(cases)} shown")
    return [_header(ctx, c) for c in cases]


def view_case(ctx: ServiceContext, number: str) -> dto.CaseView:
    """Everything of the case the actor may see; the view is recorded before it is shown."""
    access = access_for(ctx)
    case = _case(ctx, access, number, Act.VIEW_HEADER)
    facts = repository.facts(ctx.db, case)
    viewing = policy.can(access, Act.VIEW_CASE, facts)
    ctx.record(
        AuditAction.CASE_RECORD_VIEWED,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        school_id=case.school_id,
        purpose=(viewing.basis if viewing else policy.BASIS[policy.Rel.ASSIGNED]),
    )
    header = _header(ctx, case)
    actor = access.actor
    if not viewing:
        own = repository.assignments(ctx.db, case.id, user_id=actor.user_id)
        return dto.CaseView(header=header, assignments=_assignment_views(ctx, own))
    by_grant = policy.Rel.GRANT.value in viewing.reason
    notes = [_note_view(ctx, n, readable=True) for n in repository.notes(ctx.db, access, case.id)]
    summaries = [
        _note_view(ctx, n, readable=False)
        for n in repository.hidden_notes(ctx.db, access, case.id)
        if n.team_summary
    ]
    authors = _names(ctx, {a.author_id for a in repository.attachments(ctx.db, access, case.id)})
    attachments = [
        dto.AttachmentView(
            id=a.id,
            filename=a.filename or "",
            content_type=a.content_type,
            size=a.size,
            record_class=a.record_class,
            author=authors.get(a.author_id, ""),
            created_at=a.created_at,
        )
        for a in repository.attachments(ctx.db, access, case.id)
    ]
    is_lead = policy.can(access, Act.MANAGE_CASE, facts).allowed
    grants = [
        dto.GrantView(
            id=g.id,
            user=_names(ctx, {g.user_id}).get(g.user_id, ""),
            threat=g.threat if is_lead else None,
            granted_at=g.granted_at,
            expires_at=g.expires_at,
            active=g.ended_at is None and g.expires_at > ctx.now,
        )
        for g in repository.grants(ctx.db, case.id)
    ]
    own_grant = None
    if by_grant:
        own_grant = max(
            (
                g.expires_at
                for g in repository.grants(ctx.db, case.id)
                if g.user_id == actor.user_id
            ),
            default=None,
        )
    return dto.CaseView(
        header=header,
        summary=case.summary,
        parties=party_views(ctx, case.id),
        notes=sorted(notes + summaries, key=lambda n: (n.created_at, n.id)),
        attachments=attachments,
        members=_member_views(ctx, case),
        assignments=_assignment_views(ctx, repository.assignments(ctx.db, case.id)),
        grants=grants,
        full=True,
        can_edit=policy.can(access, Act.EDIT_CASE, facts).allowed,
        can_manage=is_lead,
        can_assign=policy.can(access, Act.ASSIGN_WORK, facts).allowed,
        by_emergency_grant=by_grant,
        grant_expires_at=own_grant,
        reports=[
            (r.id, r.channel, r.received_at) for r in repository.reports_of_case(ctx.db, case.id)
        ],
    )


def _note_view(ctx: ServiceContext, note: Note, *, readable: bool) -> dto.NoteView:
    return dto.NoteView(
        id=note.id,
        author=_names(ctx, {note.author_id}).get(note.author_id, ""),
        record_class=note.record_class,
        created_at=note.created_at,
        body=note.body if readable else None,
        team_summary=note.team_summary,
    )


def _assignment_views(ctx: ServiceContext, items: Sequence[Assignment]) -> list[dto.AssignmentView]:
    names = _names(ctx, {a.user_id for a in items})
    return [
        dto.AssignmentView(
            id=a.id,
            assignee=names.get(a.user_id, ""),
            assignee_id=a.user_id,
            task=a.task or "",
            due_on=a.due_on,
            done=a.done_at is not None,
        )
        for a in items
    ]


def _member_views(ctx: ServiceContext, case: Case) -> list[dto.MemberView]:
    team = repository.team(ctx.db, case.team_id)
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


# --------------------------------------------------------------------------- changes


def open_case(
    ctx: ServiceContext,
    *,
    school_id: int,
    team_id: int,
    summary: str,
    subject: PersonData,
) -> OpenedCase:
    """Open a case for a school and team the actor is on, with its subject; audited."""
    case = new_case(ctx, school_id=school_id, team_id=team_id, summary=summary, subject=subject)
    ctx.commit_with_audit(
        AuditAction.CASE_RECORD_OPENED,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        school_id=school_id,
    )
    return OpenedCase(case.number)


def new_case(
    ctx: ServiceContext,
    *,
    school_id: int,
    team_id: int,
    summary: str,
    subject: PersonData | Person,
) -> Case:
    """Add (not commit) a new case and its subject; the caller audits and commits."""
    access = access_for(ctx)
    team = repository.team(ctx.db, team_id)
    if team is None or not team.is_active:
        raise ValidationFailed("Choose one of your teams.", field="team_id")
    facts = TeamFacts(school_id, team_id, frozenset(s.id for s in team.schools))
    decision = policy.can(access, Act.OPEN_CASE, facts)
    if not decision:
        refuse(
            ctx,
            object_type="team",
            object_id=team_id,
            reason=decision.reason,
            school_id=school_id,
            hide=False,
        )
    text = clean_text(summary, limit=SUMMARY_MAX, field="summary", required=True)
    district_id = repository.district_of(ctx.db, school_id)
    number = repository.next_case_number(ctx.db, district_id, ctx.now.year)
    actor = access.actor
    case = Case(
        district_id=district_id,
        number=number,
        school_id=school_id,
        team_id=team_id,
        lead_id=actor.user_id if actor.role is Role.TEAM_LEAD else None,
        summary=text,
        opened_at=ctx.now,
        opened_by=actor.user_id,
    )
    ctx.db.add(case)
    ctx.db.flush()
    if isinstance(subject, Person):
        person = subject  # already named by a report the actor triages
    else:
        if subject.kind is not PersonKind.OTHER and subject.school_id is None:
            subject = replace(subject, school_id=school_id)
        person = find_or_create_person(ctx, subject, district_id=district_id)
    ctx.db.add(CaseParty(case_id=case.id, person_id=person.id, part=Part.SUBJECT))
    return case


def update_summary(ctx: ServiceContext, number: str, *, summary: str) -> None:
    access = access_for(ctx)
    case = _case(ctx, access, number, Act.VIEW_HEADER)
    _require(ctx, access, Act.EDIT_CASE, case)
    case.summary = clean_text(summary, limit=SUMMARY_MAX, field="summary", required=True)
    ctx.commit_with_audit(
        AuditAction.CASE_RECORD_UPDATED,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        school_id=case.school_id,
        purpose="summary",
    )


def add_party(ctx: ServiceContext, number: str, *, part: Part, person: PersonData) -> None:
    access = access_for(ctx)
    case = _case(ctx, access, number, Act.VIEW_HEADER)
    _require(ctx, access, Act.EDIT_CASE, case)
    found = find_or_create_person(ctx, person, district_id=case.district_id)
    exists = any(
        p.person_id == found.id and p.part is part for p, _ in repository.parties(ctx.db, case.id)
    )
    if exists:
        raise ValidationFailed("This person already has that part in the case.", field="part")
    ctx.db.add(CaseParty(case_id=case.id, person_id=found.id, part=part, added_at=ctx.now))
    ctx.commit_with_audit(
        AuditAction.CASE_PARTY_ADDED,
        object_type="person",
        object_id=found.id,
        case_id=case.id,
        school_id=case.school_id,
        purpose=part.value,
    )


def _check_may_file(access: Access, record_class: RecordClass) -> None:
    """Counseling and law-enforcement records are written by their own discipline only."""
    readers = policy.RECORD_CLASS_READERS[record_class]
    if readers is not None and access.actor.discipline not in readers:
        raise ValidationFailed(
            "Only a member of that discipline files records of this class.", field="record_class"
        )


def add_note(
    ctx: ServiceContext,
    number: str,
    *,
    record_class: RecordClass,
    body: str,
    team_summary: str | None = None,
) -> None:
    """Add a note; counseling and law-enforcement notes may carry a summary for the team."""
    access = access_for(ctx)
    case = _case(ctx, access, number, Act.VIEW_HEADER)
    _require(ctx, access, Act.EDIT_CASE, case)
    _check_may_file(access, record_class)
    text = clean_text(body, limit=NOTE_MAX, field="body", required=True)
    shared = None
    if record_class is not RecordClass.EDUCATION:
        shared = clean_text(
            team_summary, limit=SUMMARY_FOR_TEAM_MAX, field="team_summary", required=False
        )
    note = Note(
        case_id=case.id,
        author_id=access.actor.user_id,
        record_class=record_class,
        body=text,
        team_summary=shared,
        created_at=ctx.now,
    )
    ctx.db.add(note)
    ctx.db.flush()
    ctx.commit_with_audit(
        AuditAction.CASE_NOTE_ADDED,
        object_type="note",
        object_id=note.id,
        case_id=case.id,
        school_id=case.school_id,
        purpose=record_class.value,
    )


def add_attachment(
    ctx: ServiceContext,
    number: str,
    *,
    record_class: RecordClass,
    filename: str,
    content_type: str,
    data: bytes,
) -> None:
    """Attach a file (PDF, PNG, JPEG or plain text, up to 10 MiB), stored encrypted."""
    access = access_for(ctx)
    case = _case(ctx, access, number, Act.VIEW_HEADER)
    _require(ctx, access, Act.EDIT_CASE, case)
    _check_may_file(access, record_class)
    name = clean_text(
        filename.replace("\\", "/").rsplit("/", 1)[-1], limit=200, field="file", required=True
    )
    check_file(content_type, data)
    attachment = Attachment(
        case_id=case.id,
        author_id=access.actor.user_id,
        record_class=record_class,
        filename=name,
        content_type=content_type,
        created_at=ctx.now,
    )
    attachment.content = data
    ctx.db.add(attachment)
    ctx.db.flush()
    ctx.commit_with_audit(
        AuditAction.CASE_ATTACHMENT_ADDED,
        object_type="attachment",
        object_id=attachment.id,
        case_id=case.id,
        school_id=case.school_id,
        purpose=record_class.value,
    )


def check_file(content_type: str, data: bytes) -> None:
    """Refuse a file that is empty, too large, of another type, or not what it says it is."""
    if not data:
        raise ValidationFailed("The file is empty.", field="file")
    if len(data) > ATTACHMENT_MAX_BYTES:
        raise ValidationFailed("Files are limited to 10 MiB.", field="file")
    signatures = ATTACHMENT_TYPES.get(content_type)
    if signatures is None:
        raise ValidationFailed("Attach a PDF, PNG, JPEG or plain text file.", field="file")
    if signatures and not any(data.startswith(s) for s in signatures):
        raise ValidationFailed("The file's content does not match its type.", field="file")
    if content_type == "text/plain":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("A text file must be UTF-8.", field="file") from None


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    data: bytes


def download_attachment(ctx: ServiceContext, number: str, attachment_id: int) -> Download:
    access = access_for(ctx)
    case = _case(ctx, access, number, Act.VIEW_CASE)
    found = repository.attachment(ctx.db, access, case.id, attachment_id)
    if found is None:
        refuse(
            ctx,
            object_type="attachment",
            object_id=attachment_id,
            reason="not readable",
            case_id=case.id,
            school_id=case.school_id,
        )
    ctx.record(
        AuditAction.CASE_ATTACHMENT_DOWNLOADED,
        object_type="attachment",
        object_id=found.id,
        case_id=case.id,
        school_id=case.school_id,
    )
    return Download(found.filename or "attachment", found.content_type, found.content)


def add_member(ctx: ServiceContext, number: str, *, user_id: int) -> None:
    """The lead adds a user to the case (someone outside the team who works it)."""
    access = access_for(ctx)
    case = _case(ctx, access, number, Act.VIEW_HEADER)
    _require(ctx, access, Act.MANAGE_CASE, case)
    user = repository.user(ctx.db, user_id)
    if user is None or not user.is_active or user.role not in WORKER_ROLES:
        raise ValidationFailed("Choose an active team member or counselor.", field="user_id")
    existing = repository.member(ctx.db, case.id, user_id)
    if existing is not None and existing.removed_at is None:
        raise ValidationFailed("Already a member of this case.", field="user_id")
    if existing is not None:
        existing.removed_at = None
        existing.added_at = ctx.now
        existing.added_by = access.actor.user_id
    else:
        ctx.db.add(
            CaseMember(
                case_id=case.id, user_id=user_id, added_at=ctx.now, added_by=access.actor.user_id
            )
        )
    ctx.commit_with_audit(
        AuditAction.CASE_MEMBER_ADDED,
        object_type="user",
        object_id=user_id,
        case_id=case.id,
        school_id=case.school_id,
    )


def remove_member(ctx: ServiceContext, number: str, *, user_id: int) -> None:
    access = access_for(ctx)
    case = _case(ctx, access, number, Act.VIEW_HEADER)
    _require(ctx, access, Act.MANAGE_CASE, case)
    existing = repository.member(ctx.db, case.id, user_id)
    if existing is None or existing.removed_at is not None:
        raise NotFound("member")
    existing.removed_at = ctx.now
    ctx.commit_with_audit(
        AuditAction.CASE_MEMBER_REMOVED,
        object_type="user",
        object_id=user_id,
        case_id=case.id,
        school_id=case.school_id,
    )


def assign_work(
    ctx: ServiceContext, number: str, *, user_id: int, task: str, due_on: date | None
) -> None:
    """Give a user (a counselor, typically) work on the case: it then sees the case header."""
    access = access_for(ctx)
    case = _case(ctx, access, number, Act.VIEW_HEADER)
    _require(ctx, access, Act.ASSIGN_WORK, case)
    user = repository.user(ctx.db, user_id)
    if user is None or not user.is_active or user.role not in WORKER_ROLES:
        raise ValidationFailed("Choose an active counselor or team member.", field="user_id")
    text = clean_text(task, limit=TASK_MAX, field="task", required=True)
    row = Assignment(
        case_id=case.id,
        user_id=user_id,
        task=text,
        due_on=due_on,
        created_at=ctx.now,
        created_by=access.actor.user_id,
    )
    ctx.db.add(row)
    ctx.db.flush()
    ctx.commit_with_audit(
        AuditAction.CASE_ASSIGNMENT_ADDED,
        object_type="assignment",
        object_id=row.id,
        case_id=case.id,
        school_id=case.school_id,
    )


def complete_assignment(ctx: ServiceContext, number: str, assignment_id: int) -> None:
    """The assignee (or the team) marks the work done."""
    access = access_for(ctx)
    case = _case(ctx, access, number, Act.VIEW_HEADER)
    row = repository.assignment(ctx.db, case.id, assignment_id)
    facts = repository.facts(ctx.db, case)
    own = row is not None and row.user_id == access.actor.user_id
    if row is None or not (own or policy.can(access, Act.ASSIGN_WORK, facts)):
        refuse(
            ctx,
            object_type="assignment",
            object_id=assignment_id,
            reason="not the assignee or the team",
            case_id=case.id,
            school_id=case.school_id,
        )
    if row.done_at is not None:
        raise ValidationFailed("Already done.")
    row.done_at = ctx.now
    ctx.commit_with_audit(
        AuditAction.CASE_ASSIGNMENT_DONE,
        object_type="assignment",
        object_id=row.id,
        case_id=case.id,
        school_id=case.school_id,
    )


def openable_teams(ctx: ServiceContext) -> list[tuple[int, int, str]]:
    """(team id, school id, "Team — School") pairs the actor may open a case for."""
    access = access_for(ctx)
    found = []
    for team_id in sorted(access.actor.team_ids):
        team = repository.team(ctx.db, team_id)
        if team is None or not team.is_active:
            continue
        school_ids = frozenset(s.id for s in team.schools)
        for school in team.schools:
            if policy.can(access, Act.OPEN_CASE, TeamFacts(school.id, team_id, school_ids)):
                found.append((team_id, school.id, f"{team.name} — {school.name}"))
    return found


def assignable_users(ctx: ServiceContext) -> list[tuple[int, str]]:
    """Active users who may be added to a case or given work on it, by name."""
    return [
        (u.id, f"{u.display_name} ({u.role.label})")
        for u in repository.users_with_roles(ctx.db, WORKER_ROLES)
    ]
