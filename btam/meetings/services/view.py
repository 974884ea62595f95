"""The meeting as its pages show it: the agenda (in full for whoever may read each record,
only the shared items for a guest), attendance and quorum, an item with its decisions, the
printed agenda without names, the minutes of one case, and the meetings' part of a case's
timeline. Every page view is recorded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from btam.access import policy
from btam.access.policy import Access, Act
from btam.accounts import repository as accounts_repo
from btam.assessment import repository as assessment_repo
from btam.assessment.services import view as assessment_view
from btam.assessment.services.common import model_of
from btam.audit.actions import AuditAction
from btam.cases import repository as case_repo
from btam.cases.dto import TimelineItem
from btam.cases.services.guard import CaseInScope, load_case
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext
from btam.intake import repository as intake_repo
from btam.meetings import dto, repository
from btam.meetings.models import AgendaItem, Meeting, MeetingDecision, Minute
from btam.meetings.services.agenda import loaded_item
from btam.meetings.services.attendance import candidates, quorum
from btam.meetings.services.common import MeetingInScope, load_meeting
from btam.meetings.services.decisions import case_choices, qualifying_attendees
from btam.meetings.terms import DecisionKind
from btam.plans.services import reviews

DETAIL_MAX = 300


def _header(ctx: ServiceContext, meeting: Meeting) -> dto.MeetingHeader:
    team = repository.team(ctx.db, meeting.team_id)
    return dto.MeetingHeader(
        id=meeting.id,
        team=team.name if team else "",
        kind=meeting.kind,
        starts_at=meeting.starts_at,
        place=meeting.place,
        agenda_built_at=meeting.agenda_built_at,
    )


def _short(text: str | None) -> str | None:
    if not text:
        return None
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"


def _outline(ctx: ServiceContext, access: Access, d: MeetingDecision) -> str | None:
    """What the decision made, without narrative: a determination's version, a plan item's
    intervention and due date, a referral's destination (to whoever may read the referral),
    a review's next date."""
    if d.determination_id is not None:
        found = assessment_repo.determination(ctx.db, d.case_id, d.determination_id)
        return f"determination v{found.version}" if found is not None else None
    if d.ref_id is None:
        return None
    if d.kind is DecisionKind.PLAN_ITEM:
        item = repository.plan_item_outline(ctx.db, d.case_id, d.ref_id)
        if item is None:
            return None
        intervention, due_on = item
        return intervention.label + (f", due {due_on.isoformat()}" if due_on else "")
    if d.kind is DecisionKind.REFERRAL:
        destination = repository.referral_destination(ctx.db, access, d.case_id, d.ref_id)
        return destination.label if destination is not None else None
    if d.kind is DecisionKind.REVIEW:
        next_on = repository.review_next_on(ctx.db, d.case_id, d.ref_id)
        return f"next review {next_on.isoformat()}" if next_on is not None else None
    return None


def _decision_views(
    ctx: ServiceContext, access: Access, rows: Iterable[MeetingDecision], names: dict[int, str]
) -> list[dto.DecisionView]:
    views = []
    for d in rows:
        summary = d.kind.label
        outline = _outline(ctx, access, d)
        if outline:
            summary += f": {outline}"
        if d.determination_id is not None:
            found = assessment_repo.determination(ctx.db, d.case_id, d.determination_id)
            if found is not None:
                summary += f", {found.status.label.lower()}"
        views.append(dto.DecisionView(d.kind, names.get(d.decided_by, ""), d.decided_at, summary))
    return views


def _minute_views(rows: Iterable[Minute], names: dict[int, str]) -> list[dto.MinuteView]:
    return [
        dto.MinuteView(m.id, names.get(m.author_id, ""), m.created_at, m.body or "") for m in rows
    ]


def _items(
    ctx: ServiceContext, loaded: MeetingInScope, rows: Sequence[AgendaItem]
) -> list[dto.ItemView]:
    """The items the viewer sees; the record's detail only where the policy lets it read."""
    guest = loaded.guest
    access = loaded.access
    cases = repository.cases_by_ids(ctx.db, (i.case_id for i in rows if i.case_id))
    reports = repository.reports_by_ids(ctx.db, (i.report_id for i in rows if i.report_id))
    minutes = [] if guest else list(repository.minutes(ctx.db, loaded.meeting.id))
    decisions = [] if guest else list(repository.decisions(ctx.db, loaded.meeting.id))
    names = accounts_repo.display_names(
        ctx.db, [*(m.author_id for m in minutes), *(d.decided_by for d in decisions)]
    )
    reads_case = {
        c.id: bool(policy.allowed(access, Act.VIEW_CASE, case_repo.facts(ctx.db, c)))
        for c in cases.values()
    }
    triages = {
        r.id: bool(policy.allowed(access, Act.TRIAGE, intake_repo.report_facts(ctx.db, r)))
        for r in reports.values()
    }
    views = []
    for i in rows:
        if guest and not i.shared:
            continue
        case = cases.get(i.case_id) if i.case_id else None
        report = reports.get(i.report_id) if i.report_id else None
        if case is not None:
            readable = reads_case[case.id] or (guest and i.shared)
            detail = _short(case.summary) if readable else None
        elif report is not None:
            readable = triages[report.id] and not guest
            detail = _short(report.narrative) if readable else None
        else:
            readable = True
            detail = None
        item_minutes = [m for m in minutes if m.item_id == i.id]
        item_decisions = [d for d in decisions if d.item_id == i.id]
        views.append(
            dto.ItemView(
                id=i.id,
                position=i.position,
                kind=i.kind,
                case_number=case.number if case else None,
                report_id=i.report_id,
                due_at=i.due_at,
                shared=i.shared,
                detail=detail,
                topic=i.topic,
                readable=readable,
                minutes=_minute_views(item_minutes, names) if readable else [],
                decisions=_decision_views(ctx, access, item_decisions, names) if readable else [],
            )
        )
    return views


def _attendees(ctx: ServiceContext, meeting: Meeting) -> list[dto.AttendeeView]:
    rows = repository.attendees(ctx.db, meeting.id)
    names = accounts_repo.display_names(ctx.db, (a.user_id for a in rows if a.user_id))
    return [
        dto.AttendeeView(
            id=a.id,
            user_id=a.user_id,
            name=names.get(a.user_id, "") if a.user_id else (a.guest_name or ""),
            discipline=a.discipline.replace("_", " ").capitalize() if a.discipline else None,
            guest=a.guest,
            affiliation=a.guest_affiliation,
            acknowledged_at=a.acknowledged_at,
        )
        for a in rows
    ]


def meeting_page(ctx: ServiceContext, meeting_id: int) -> dto.MeetingPage:
    """The meeting for its page; the view is recorded (as a guest's, for a guest).

    :raises NotFound: no such meeting, or one the actor may not open (recorded).
    """
    loaded = load_meeting(ctx, meeting_id, Act.VIEW_MEETING)
    meeting, actor = loaded.meeting, loaded.access.actor
    items = _items(ctx, loaded, repository.items(ctx.db, meeting.id))
    attendees = _attendees(ctx, meeting)
    may_lead = loaded.may(Act.LEAD_MEETING)
    member_choices, guest_choices = candidates(ctx, loaded) if may_lead else ([], [])
    own = next(
        (a.id for a in attendees if a.user_id == actor.user_id and a.acknowledged_at is None), None
    )
    ctx.record(
        AuditAction.MEETING_RECORD_VIEWED,
        object_type="meeting",
        object_id=meeting.id,
        purpose="guest view" if loaded.guest else "team view",
    )
    return dto.MeetingPage(
        header=_header(ctx, meeting),
        items=items,
        attendees=attendees,
        quorum=None if loaded.guest else quorum(ctx, loaded),
        guest_view=loaded.guest,
        may_lead=may_lead,
        may_minute=loaded.may(Act.RECORD_MINUTES),
        member_choices=member_choices,
        guest_choices=guest_choices,
        own_attendee_id=own,
    )


def item_page(ctx: ServiceContext, meeting_id: int, item_id: int) -> dto.ItemPage:
    """One agenda item with its minutes and the decisions that can be taken on its case;
    recorded.

    :raises NotFound, AccessDenied: see ``loaded_item`` (the team only) and ``load_case``.
    """
    loaded, row = loaded_item(ctx, meeting_id, item_id, Act.RECORD_MINUTES)
    may_lead = loaded.may(Act.LEAD_MEETING)
    case_loaded: CaseInScope | None = None
    if row.case_id is not None:
        number = case_repo.case_by_id(ctx.db, row.case_id).number
        case_loaded = load_case(ctx, number, Act.VIEW_CASE)
    view = _items(ctx, loaded, [row])[0]
    facts: list[tuple[int, str]] = []
    classes: list[dto.ChoiceView] = []
    levels: list[dto.ChoiceView] = []
    participants: list[str] = []
    missing: list[str] = []
    may_close = False
    status = None
    may_plan = may_refer = may_review = False
    choices = dto.PlanChoices()
    if case_loaded is not None:
        case = case_loaded.case
        status = case.status.label
        open_case = case.status is not CaseStatus.CLOSED
        assessment = assessment_view.assessment_view(ctx, case_loaded)
        if may_lead and open_case and assessment is not None and case_loaded.may(Act.ASSESS):
            facts = [(f.series_id, f.label) for f in assessment.facts]
            classes = [dto.ChoiceView(c.value, c.label) for c in assessment.classifications]
            levels = [dto.ChoiceView(c.value, c.label) for c in assessment.levels]
            chosen = qualifying_attendees(ctx, loaded, case.number)
            participants = [label for _, label in chosen]
            model = model_of(ctx, case)
            keys = {
                a.discipline
                for a in repository.attendees(ctx.db, meeting_id)
                if a.user_id in {u for u, _ in chosen} and a.discipline
            }
            missing = model.missing_disciplines(keys, knows_subject=True)
        may_close = may_lead and open_case and case_loaded.may(Act.MANAGE_CASE)
        may_plan = may_lead and open_case and case_loaded.may(Act.ASSIGN_WORK)
        may_refer = may_lead and open_case and case_loaded.may(Act.REFER)
        may_review = may_plan and case.status in reviews.REVIEWED
        if may_plan or may_refer:
            choices = case_choices(ctx, case_loaded)
    ctx.record(
        AuditAction.MEETING_RECORD_VIEWED,
        object_type="agenda_item",
        object_id=row.id,
        case_id=row.case_id,
        purpose="agenda item",
    )
    return dto.ItemPage(
        header=_header(ctx, loaded.meeting),
        item=view,
        may_lead=may_lead,
        may_minute=loaded.may(Act.RECORD_MINUTES),
        facts=facts,
        classifications=classes,
        levels=levels,
        participants=participants,
        quorum_missing=missing,
        may_close=may_close,
        case_status=status,
        may_plan=may_plan,
        may_refer=may_refer,
        may_review=may_review,
        choices=choices,
    )


def printed_agenda(ctx: ServiceContext, meeting_id: int) -> dto.PrintedAgenda:
    """The agenda for paper or a shared room: case numbers, kinds and due dates, never a name,
    a narrative or a topic's text; a guest's holds the shared items only. Recorded.

    :raises NotFound: no such meeting, or one the actor may not open (recorded).
    """
    loaded = load_meeting(ctx, meeting_id, Act.VIEW_MEETING)
    rows = [i for i in repository.items(ctx.db, meeting_id) if i.shared or not loaded.guest]
    numbers = case_repo.case_numbers(ctx.db, (i.case_id for i in rows if i.case_id))
    ctx.record(AuditAction.MEETING_AGENDA_PRINTED, object_type="meeting", object_id=meeting_id)
    return dto.PrintedAgenda(
        header=_header(ctx, loaded.meeting),
        rows=[
            dto.PrintedRow(
                position=n,
                kind=i.kind,
                case_number=numbers.get(i.case_id) if i.case_id else None,
                report_id=i.report_id,
                due_at=i.due_at,
            )
            for n, i in enumerate(rows, start=1)
        ],
    )


def case_minutes(ctx: ServiceContext, number: str) -> dto.CaseMinutes:
    """Every meeting's minutes and decisions about one case, for its file; recorded.

    :raises NotFound, AccessDenied: see ``load_case`` (whoever may read the case).
    """
    loaded = load_case(ctx, number, Act.VIEW_CASE)
    case = loaded.case
    minutes = repository.minutes_of_case(ctx.db, case.id)
    decisions = repository.decisions_of_case(ctx.db, case.id)
    meetings = {m.id: m for _, m in [*minutes, *decisions]}
    teams = {t.id: t.name for t in repository.teams(ctx.db, {m.team_id for m in meetings.values()})}
    names = accounts_repo.display_names(
        ctx.db, [*(m.author_id for m, _ in minutes), *(d.decided_by for d, _ in decisions)]
    )
    school = accounts_repo.school(ctx.db, case.school_id)
    ctx.record(
        AuditAction.MEETING_MINUTES_PRINTED,
        object_type="case",
        object_id=case.number,
        case_id=case.id,
        school_id=case.school_id,
    )
    entries = [
        dto.CaseMinutesEntry(
            meeting_id=m.id,
            starts_at=m.starts_at,
            team=teams.get(m.team_id, ""),
            minutes=_minute_views((x for x, meeting in minutes if meeting.id == m.id), names),
            decisions=_decision_views(
                ctx, loaded.access, (d for d, meeting in decisions if meeting.id == m.id), names
            ),
        )
        for m in sorted(meetings.values(), key=lambda m: (m.starts_at, m.id))
    ]
    return dto.CaseMinutes(case.number, school.name if school else "", entries)


def case_timeline(ctx: ServiceContext, loaded: CaseInScope) -> list[TimelineItem]:
    """The meetings' part of a case's timeline: minutes recorded and decisions taken, each
    linked to its meeting; nothing for a viewer who may not read the case."""
    if not loaded.may(Act.VIEW_CASE):
        return []
    case_id = loaded.case.id
    minutes = repository.minutes_of_case(ctx.db, case_id)
    decisions = repository.decisions_of_case(ctx.db, case_id)
    names = accounts_repo.display_names(
        ctx.db, [*(m.author_id for m, _ in minutes), *(d.decided_by for d, _ in decisions)]
    )
    items = [
        TimelineItem(
            m.created_at,
            "meeting",
            f"Minutes of meeting #{meeting.id}",
            names.get(m.author_id),
            meeting_id=meeting.id,
        )
        for m, meeting in minutes
    ]
    for d, meeting in decisions:
        text = d.kind.label
        outline = _outline(ctx, loaded.access, d)
        if outline:
            text += f" ({outline})"
        items.append(
            TimelineItem(
                d.decided_at,
                "meeting",
                f"Decided in meeting #{meeting.id}: {text}",
                names.get(d.decided_by),
                meeting_id=meeting.id,
            )
        )
    return items
