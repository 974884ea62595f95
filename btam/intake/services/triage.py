"""Triage: the team's queue of reports and tips, the person's history, the screening
questions, the outcome (a case, an existing case, the suicide-risk protocol, or a reasoned
"no threat"), and the imminent-danger alert with its immediate actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from btam.access import policy
from btam.access.policy import Access, Act
from btam.access.record_classes import RecordClass
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.audit.actions import AuditAction, Outcome
from btam.audit.events import AuditEvent
from btam.cases import dto as case_dto
from btam.cases import lifecycle
from btam.cases import repository as case_repo
from btam.cases.lifecycle import CaseChange
from btam.cases.models import CaseParty
from btam.cases.services.guard import CASE_NUMBER, access_for
from btam.cases.services.opening import open_case
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.files import Download
from btam.intake import dto, repository
from btam.intake.models import Report, ReportAction
from btam.intake.terms import Channel, ImmediateAction, NoThreatAction, ReportStatus, TriageOutcome
from btam.people import dto as people_dto
from btam.people import repository as people_repo
from btam.people.models import Person
from btam.people.services.matching import PersonData
from btam.people.terms import Part

REASON_MAX = 5_000
SCREENING = (
    ("screen_imminent", "Is there an imminent danger?"),
    ("screen_threat_communicated", "Was a threat communicated?"),
    ("screen_someone_in_fear", "Is someone in fear?"),
    ("screen_has_plan", "Does the student have an IEP, 504, behaviour or health plan?"),
    ("screen_manageable_under_plan", "Is the behaviour manageable under that plan?"),
)


@dataclass(frozen=True)
class Decision:
    outcome: TriageOutcome
    screening: dict[str, bool | None]
    reason: str = ""
    no_threat_action: NoThreatAction | None = None
    team_id: int | None = None  # opened_case
    summary: str = ""  # opened_case
    subject: PersonData | None = None  # opened_case, when the report names no subject
    case_number: str = ""  # added_to_case


def _report_event(action: AuditAction, report: Report, *, purpose: str | None = None) -> AuditEvent:
    return AuditEvent(
        action,
        object_type="report",
        object_id=report.id,
        case_id=report.case_id,
        school_id=report.school_id,
        purpose=purpose,
    )


def _report(ctx: ServiceContext, access: Access, report_id: int) -> Report:
    found = repository.visible_report(ctx.db, access, report_id, Act.TRIAGE)
    if found is None:
        refuse(ctx, object_type="report", object_id=report_id, reason="not visible for triage")
    return found


def _school_name(ctx: ServiceContext, school_id: int) -> str:
    school = accounts_repo.school(ctx.db, school_id)
    return school.name if school else ""


def queue(ctx: ServiceContext) -> list[dto.QueueItem]:
    """Reports and tips waiting for triage in the actor's schools, oldest first."""
    access = access_for(ctx)
    if not policy.CASE_RULES[Act.TRIAGE].get(access.actor.role) or not access.actor.team_ids:
        refuse(ctx, object_type="triage_queue", object_id="queue", reason="role", hide=False)
    rows = repository.triage_queue(ctx.db, access)
    ctx.record(
        AuditAction.TRIAGE_QUEUE_VIEWED, object_type="triage_queue", purpose=f"{len(rows)} shown"
    )
    items = []
    for r in rows:
        people = repository.report_people(ctx.db, r.id)
        items.append(
            dto.QueueItem(
                id=r.id,
                school=_school_name(ctx, r.school_id),
                channel=r.channel,
                category=r.category,
                received_at=r.received_at,
                due_at=r.due_at,
                overdue=r.due_at < ctx.now,
                imminent=r.imminent,
                acknowledged=r.imminent_acknowledged_at is not None,
                subjects=[p.full_name for link, p in people if link.part is Part.SUBJECT],
                age=_age(ctx.now - r.received_at),
                earlier=len(_history(ctx, access, r)),
            )
        )
    return items


def _age(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours < 1:
        return f"{max(int(delta.total_seconds() // 60), 0)} min"
    return f"{hours} h" if hours < 48 else f"{hours // 24} d"


def _history(ctx: ServiceContext, access: Access, report: Report) -> list[dto.HistoryItem]:
    """Earlier reports and cases of the report's people, as far as the actor may see them."""
    items: list[dto.HistoryItem] = []
    for _link, person in repository.report_people(ctx.db, report.id):
        for case, party in people_repo.cases_of_person(ctx.db, access, person.id):
            if case.id == report.case_id:
                continue
            items.append(
                dto.HistoryItem(
                    person=person.full_name,
                    kind="case",
                    label=f"Case {case.number} ({party.part.label})",
                    when=case.opened_at,
                    status=case.status.label,
                    case_number=case.number,
                )
            )
        for earlier in repository.earlier_reports_of(
            ctx.db, access, person.id, before=report.received_at, other_than=report.id
        ):
            items.append(
                dto.HistoryItem(
                    person=person.full_name,
                    kind="report",
                    label=f"Report #{earlier.id} ({earlier.channel.label})",
                    when=earlier.received_at,
                    status=(earlier.outcome.label if earlier.outcome else earlier.status.label),
                    case_number=None,
                )
            )
    return sorted(items, key=lambda h: h.when, reverse=True)


def view_report(ctx: ServiceContext, report_id: int) -> dto.ReportView:
    access = access_for(ctx)
    report = _report(ctx, access, report_id)
    facts = repository.report_facts(ctx.db, report)
    ctx.record(
        AuditAction.TRIAGE_REPORT_VIEWED,
        object_type="report",
        object_id=report.id,
        case_id=report.case_id,
        school_id=report.school_id,
    )
    reporter = None
    if report.reporter_id is not None and policy.allowed(access, Act.VIEW_REPORTER, facts):
        user = accounts_repo.user(ctx.db, report.reporter_id)
        reporter = user.display_name if user else None
    case_numbers = case_repo.case_numbers(ctx.db, [report.case_id] if report.case_id else [])
    return dto.ReportView(
        id=report.id,
        school=_school_name(ctx, report.school_id),
        school_id=report.school_id,
        channel=report.channel,
        category=report.category,
        received_at=report.received_at,
        due_at=report.due_at,
        overdue=report.status is ReportStatus.RECEIVED and report.due_at < ctx.now,
        reporter=reporter,
        reporter_confidential=report.reporter_confidential,
        occurred=report.occurred,
        location=report.location,
        narrative=report.narrative or "",
        who=report.who,
        imminent=report.imminent,
        acknowledged=report.imminent_acknowledged_at is not None,
        people=[
            people_dto.PartyView(person_id=p.id, name=p.full_name, kind=p.kind, part=link.part)
            for link, p in repository.report_people(ctx.db, report.id)
        ],
        attachments=[
            case_dto.AttachmentView(
                id=a.id,
                filename=a.filename or "",
                content_type=a.content_type,
                size=a.size,
                record_class=RecordClass.EDUCATION,
                author="",
                created_at=a.created_at,
            )
            for a in repository.report_attachments(ctx.db, report.id)
        ],
        actions=[
            dto.ActionView(action=a.action, taken_by=a.taken_by or "", taken_at=a.taken_at)
            for a in repository.report_actions(ctx.db, report.id)
        ],
        history=_history(ctx, access, report),
        status=report.status,
        outcome=report.outcome,
        no_threat_action=report.no_threat_action,
        outcome_reason=report.outcome_reason,
        case_number=case_numbers.get(report.case_id) if report.case_id else None,
        screening={name: getattr(report, name) for name, _ in SCREENING},
        messages=[
            dto.TipMessageView(from_tipster=m.from_tipster, body=m.body or "", at=m.created_at)
            for m in repository.tip_messages(ctx.db, report.id)
        ],
        is_tip=report.channel is Channel.ANONYMOUS_TIP,
    )


def acknowledge(ctx: ServiceContext, report_id: int) -> Staged[None]:
    """The team has seen the imminent-danger alert: the banner goes away for everyone.

    :raises NotFound: not a report the actor may triage (recorded).
    :raises ValidationFailed: no alert to acknowledge.
    """
    access = access_for(ctx)
    report = _report(ctx, access, report_id)
    if not report.imminent or report.imminent_acknowledged_at is not None:
        raise ValidationFailed("There is no alert to acknowledge on this report.")
    report.imminent_acknowledged_at = ctx.now
    report.imminent_acknowledged_by = access.actor.user_id
    return staged(None, _report_event(AuditAction.TRIAGE_IMMINENT_ACKNOWLEDGED, report))


def record_action(
    ctx: ServiceContext,
    report_id: int,
    *,
    action: ImmediateAction,
    taken_by: str,
    taken_at: datetime,
) -> Staged[None]:
    """Record an immediate action taken about the report (who, when).

    :raises NotFound: not a report the actor may triage (recorded).
    :raises ValidationFailed: no one named, or a time in the future.
    """
    access = access_for(ctx)
    report = _report(ctx, access, report_id)
    who = (taken_by or "").strip()
    if not who or len(who) > 500:
        raise ValidationFailed(
            "Say who took the action (at most 500 characters).", field="taken_by"
        )
    if taken_at > ctx.now:
        raise ValidationFailed("An action taken cannot be in the future.", field="taken_at")
    ctx.db.add(
        ReportAction(
            report_id=report.id,
            action=action,
            taken_by=who,
            taken_at=taken_at,
            recorded_by=access.actor.user_id,
            recorded_at=ctx.now,
        )
    )
    return staged(
        None, _report_event(AuditAction.TRIAGE_ACTION_RECORDED, report, purpose=action.value)
    )


def decide(ctx: ServiceContext, report_id: int, decision: Decision) -> Staged[str | None]:
    """Record the screening and the outcome; the value is the case's number, if any.

    :raises ValidationFailed: the report was triaged already, or the outcome lacks what it needs.
    """
    access = access_for(ctx)
    report = _report(ctx, access, report_id)
    if report.status is not ReportStatus.RECEIVED:
        raise ValidationFailed("This report has been triaged already.")
    reason = (decision.reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationFailed("At most 5,000 characters.", field="reason")
    for name, _question in SCREENING:
        setattr(report, name, decision.screening.get(name))
    people = repository.report_people(ctx.db, report.id)
    case = None
    events: list[AuditEvent] = []
    if decision.outcome is TriageOutcome.OPENED_CASE:
        subjects = [p for link, p in people if link.part is Part.SUBJECT]
        subject: PersonData | Person | None = subjects[0] if subjects else decision.subject
        if subject is None:
            raise ValidationFailed("Name the subject of the new case.", field="family_name")
        if decision.team_id is None:
            raise ValidationFailed("Choose the team that takes the case.", field="team_id")
        opened = open_case(
            ctx,
            school_id=report.school_id,
            team_id=decision.team_id,
            summary=decision.summary or report.narrative or "",
            subject=subject,
        )
        events += opened.events
        case = case_repo.case_by_id(ctx.db, opened.value.id)
    elif decision.outcome is TriageOutcome.ADDED_TO_CASE:
        number = (decision.case_number or "").strip()
        found = (
            case_repo.case_by_number(ctx.db, access, number, Act.VIEW_HEADER)
            if CASE_NUMBER.fullmatch(number)
            else None
        )
        if found is None and CASE_NUMBER.fullmatch(number):
            # A well-formed number the actor may not see: a probe is recorded like any other.
            ctx.record(
                AuditAction.ACCESS_RECORD_DENIED,
                outcome=Outcome.DENIED,
                object_type="case",
                object_id=number,
                purpose="triage into a case not visible",
            )
        if found is None or not policy.allowed(
            access, Act.EDIT_CASE, case_repo.facts(ctx.db, found)
        ):
            raise ValidationFailed("Choose one of your team's open cases.", field="case_number")
        lifecycle.check_change(found.status, CaseChange.REPORTS, field="case_number")
        case = found
    elif decision.outcome is TriageOutcome.NO_THREAT:
        if not reason:
            raise ValidationFailed("Give the reason there is no threat.", field="reason")
        if decision.no_threat_action is None:
            raise ValidationFailed("Say what was done instead.", field="no_threat_action")
        report.no_threat_action = decision.no_threat_action
    if case is not None:
        known = {(p.person_id, p.part) for p, _ in case_repo.parties(ctx.db, case.id)}
        for link, person in people:
            if (person.id, link.part) not in known:
                ctx.db.add(
                    CaseParty(
                        case_id=case.id, person_id=person.id, part=link.part, added_at=ctx.now
                    )
                )
                known.add((person.id, link.part))
        report.case_id = case.id
    report.outcome = decision.outcome
    report.outcome_reason = reason or None
    report.status = ReportStatus.TRIAGED
    report.triaged_at = ctx.now
    report.triaged_by = access.actor.user_id
    ctx.db.flush()
    events.append(
        AuditEvent(
            AuditAction.TRIAGE_REPORT_DECIDED,
            object_type="report",
            object_id=report.id,
            case_id=case.id if case else None,
            school_id=report.school_id,
            purpose=decision.outcome.value,
        )
    )
    return staged(case.number if case else None, *events)


def download(ctx: ServiceContext, report_id: int, attachment_id: int) -> Download:
    access = access_for(ctx)
    report = _report(ctx, access, report_id)
    found = repository.report_attachment(ctx.db, report.id, attachment_id)
    if found is None:
        refuse(ctx, object_type="report_attachment", object_id=attachment_id, reason="none")
    ctx.record(
        AuditAction.INTAKE_ATTACHMENT_DOWNLOADED,
        object_type="report_attachment",
        object_id=found.id,
        school_id=report.school_id,
    )
    return Download(found.filename or "attachment", found.content_type, found.content)


def imminent_alerts(ctx: ServiceContext) -> list[tuple[int, str, datetime]]:
    """Unacknowledged imminent-danger reports for the actor's teams: (id, school, received)."""
    actor = ctx.actor
    if actor is None or not actor.team_ids:
        return []
    access = Access(actor)
    return [
        (r.id, _school_name(ctx, r.school_id), r.received_at)
        for r in repository.unacknowledged_imminent(ctx.db, access)
    ]


def openable_teams_for(ctx: ServiceContext, report_id: int) -> list[tuple[int, str]]:
    """Teams of the actor that cover the report's school."""
    access = access_for(ctx)
    report = _report(ctx, access, report_id)
    found = []
    for team_id in sorted(access.actor.team_ids):
        team = accounts_repo.team(ctx.db, team_id)
        if team is not None and team.is_active and report.school_id in {s.id for s in team.schools}:
            found.append((team.id, team.name))
    return found
