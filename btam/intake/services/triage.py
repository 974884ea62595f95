"""Triage: the team's queue of reports and tips, the person's history, the screening
questions, the outcome (a case, an existing case, the suicide-risk protocol, or a reasoned
"no threat"), and the imminent-danger alert with its immediate actions."""

from __future__ import annotations

from collections.abc import Sequence
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
from btam.intake.models import Report, ReportAction, ReportMention, ReportPerson
from btam.intake.terms import Channel, ImmediateAction, NoThreatAction, ReportStatus, TriageOutcome
from btam.people import dto as people_dto
from btam.people import repository as people_repo
from btam.people.models import Person
from btam.people.services.matching import (
    PersonData,
    data_of,
    find_or_create_person,
    indexes_of,
    new_person,
    ruled_out,
    same_person,
    visible_matches,
)
from btam.people.terms import Part, PersonKind

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


# Reports per page of the triage queue.
QUEUE_PAGE = 50


def queue(ctx: ServiceContext, *, page: int = 1) -> dto.QueuePage:
    """A page of the reports and tips waiting for triage in the actor's schools, oldest
    first. A page past the last shows the last."""
    access = access_for(ctx)
    if not policy.CASE_RULES[Act.TRIAGE].get(access.actor.role) or not access.actor.team_ids:
        refuse(ctx, object_type="triage_queue", object_id="queue", reason="role", hide=False)
    page = max(page, 1)
    rows, total = repository.triage_queue(
        ctx.db, access, offset=(page - 1) * QUEUE_PAGE, limit=QUEUE_PAGE
    )
    pages = max(1, -(-total // QUEUE_PAGE))
    if page > pages:
        page = pages
        rows, total = repository.triage_queue(
            ctx.db, access, offset=(page - 1) * QUEUE_PAGE, limit=QUEUE_PAGE
        )
    ctx.record(
        AuditAction.TRIAGE_QUEUE_VIEWED,
        object_type="triage_queue",
        purpose=f"{len(rows)} shown, page {page} of {pages}",
    )
    ids = [r.id for r in rows]
    linked = repository.people_of_reports(ctx.db, ids)
    mentions = repository.mentions_of_reports(ctx.db, ids)
    schools = {
        s.id: s.name for s in accounts_repo.schools_by_ids(ctx.db, {r.school_id for r in rows})
    }
    earlier = _earlier_counts(ctx, access, rows, linked, mentions)
    items = []
    for r in rows:
        typed = [
            m.full_name for m in mentions[r.id] if m.person_id is None and m.part is Part.SUBJECT
        ]
        items.append(
            dto.QueueItem(
                id=r.id,
                school=schools.get(r.school_id, ""),
                channel=r.channel,
                category=r.category,
                received_at=r.received_at,
                due_at=r.due_at,
                overdue=r.due_at < ctx.now,
                imminent=r.imminent,
                acknowledged=r.imminent_acknowledged_at is not None,
                subjects=[p.full_name for link, p in linked[r.id] if link.part is Part.SUBJECT]
                + typed,
                age=_age(ctx.now - r.received_at),
                earlier=earlier[r.id],
            )
        )
    return dto.QueuePage(items, page, pages, total)


def _earlier_counts(
    ctx: ServiceContext,
    access: Access,
    rows: Sequence[Report],
    linked: dict[int, list[tuple[ReportPerson, Person]]],
    mentions: dict[int, list[ReportMention]],
) -> dict[int, int]:
    """For a page of the queue, how many records each report's history (:func:`_history`)
    holds, found with a fixed number of queries whatever the page holds: the same people,
    cases and reports, looked up for every report of the page at once."""
    unlinked = {
        m.id: (m, _mention_data(r, m), indexes_of(ctx, _mention_data(r, m)))
        for r in rows
        for m in mentions[r.id]
        if m.person_id is None
    }
    # The mentions' indexes by the value they share with a candidate: a candidate is
    # decrypted (its key unwrapped) only if one of them does not rule it out.
    wanting: dict[tuple[int, str], list[tuple[str | None, str | None]]] = {}
    for _m, _d, indexes in unlinked.values():
        for which, value in enumerate(indexes):
            if value:
                wanting.setdefault((which, value), []).append(indexes)

    def worth_decrypting(p: Person) -> bool:
        return any(
            not ruled_out(p, indexes)
            for which, value in enumerate((p.student_id_index, p.name_dob_index))
            if value
            for indexes in wanting.get((which, value), [])
        )

    candidates = people_repo.people_by_indexes(
        ctx.db,
        access,
        student_id_indexes={i[0] for _m, _d, i in unlinked.values() if i[0]},
        name_dob_indexes={i[1] for _m, _d, i in unlinked.values() if i[1]},
        keep=worth_decrypting,
    )

    # Each mention is confirmed against the candidates sharing one of its index values only.
    sharing: dict[tuple[int, str], list[Person]] = {}
    for p in candidates:
        for which, value in enumerate((p.student_id_index, p.name_dob_index)):
            if value:
                sharing.setdefault((which, value), []).append(p)

    def matches(indexes: tuple[str | None, str | None], data: PersonData) -> list[Person]:
        found: dict[int, Person] = {}
        for which, value in enumerate(indexes):
            for p in sharing.get((which, value), []) if value else []:
                if p.id not in found and not ruled_out(p, indexes) and same_person(p, data):
                    found[p.id] = p
        return list(found.values())

    people_of: dict[int, dict[int, Person]] = {}
    for r in rows:
        found = {p.id: p for _link, p in linked[r.id]}
        for m in mentions[r.id]:
            if m.person_id is None:
                for p in matches(unlinked[m.id][2], unlinked[m.id][1]):
                    found.setdefault(p.id, p)
        people_of[r.id] = found
    everyone = {pid for found in people_of.values() for pid in found}
    cases = people_repo.cases_of_people(ctx.db, access, everyone)
    reports = repository.reports_of_people(ctx.db, access, everyone)
    person_data = {p.id: data_of(p) for found in people_of.values() for p in found.values()}
    person_indexes = {
        p.id: (p.student_id_index, p.name_dob_index)
        for found in people_of.values()
        for p in found.values()
    }
    wanted = [*person_indexes.values(), *(i for _m, _d, i in unlinked.values())]
    named = repository.mentions_by_indexes(
        ctx.db,
        access,
        student_id_indexes={i[0] for i in wanted if i[0]},
        name_dob_indexes={i[1] for i in wanted if i[1]},
    )

    def named_earlier(
        report: Report, indexes: tuple[str | None, str | None], data: PersonData
    ) -> set[int]:
        return {
            earlier.id
            for earlier, mention in named
            if earlier.id != report.id
            and earlier.received_at <= report.received_at
            and (
                (indexes[0] and mention.student_id_index == indexes[0])
                or (indexes[1] and mention.name_dob_index == indexes[1])
            )
            and not ruled_out(mention, indexes)
            and same_person(mention, data)
        }

    counts = {}
    for r in rows:
        found_cases: set[tuple[str, Part]] = set()
        found_reports: set[int] = set()
        for pid in people_of[r.id]:
            found_cases.update(
                (case.number, party.part) for case, party in cases[pid] if case.id != r.case_id
            )
            found_reports.update(
                earlier.id
                for earlier, person_id in reports
                if person_id == pid and earlier.id != r.id and earlier.received_at <= r.received_at
            )
            found_reports |= named_earlier(r, person_indexes[pid], person_data[pid])
        for m in mentions[r.id]:
            if m.person_id is None:
                found_reports |= named_earlier(r, unlinked[m.id][2], unlinked[m.id][1])
        counts[r.id] = len(found_cases) + len(found_reports)
    return counts


def _age(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours < 1:
        return f"{max(int(delta.total_seconds() // 60), 0)} min"
    return f"{hours} h" if hours < 48 else f"{hours // 24} d"


def _mention_data(report: Report, mention: ReportMention) -> PersonData:
    """The person as the report names it (checked when the report came in)."""
    return data_of(
        mention, school_id=None if mention.kind is PersonKind.OTHER else report.school_id
    )


def _candidates(
    ctx: ServiceContext, access: Access, report: Report, mention: ReportMention
) -> list[Person]:
    """Who an unlinked mention may be, among the people the actor may see: none else."""
    if mention.person_id is not None:
        return []
    return visible_matches(ctx, access, _mention_data(report, mention))


def _people_of(ctx: ServiceContext, access: Access, report: Report) -> list[Person]:
    """The report's linked people and the visible candidates of its unlinked mentions."""
    found: dict[int, Person] = {p.id: p for _link, p in repository.report_people(ctx.db, report.id)}
    for mention in repository.report_mentions(ctx.db, report.id):
        for candidate in _candidates(ctx, access, report, mention):
            found.setdefault(candidate.id, candidate)
    return list(found.values())


def _report_item(name: str, report: Report) -> dto.HistoryItem:
    return dto.HistoryItem(
        person=name,
        kind="report",
        label=f"Report #{report.id} ({report.channel.label})",
        when=report.received_at,
        status=(report.outcome.label if report.outcome else report.status.label),
        case_number=None,
    )


def _named_earlier(
    ctx: ServiceContext,
    access: Access,
    report: Report,
    indexes: tuple[str | None, str | None],
    data: PersonData,
) -> list[Report]:
    """Earlier reports whose unlinked mentions name the same person (index, then decrypted)."""
    return [
        earlier
        for earlier, mention in repository.earlier_mentions(
            ctx.db,
            access,
            student_id_index=indexes[0],
            name_dob_index=indexes[1],
            before=report.received_at,
            other_than=report.id,
        )
        if mention.person_id is None
        and not ruled_out(mention, indexes)
        and same_person(mention, data)
    ]


def _history(ctx: ServiceContext, access: Access, report: Report) -> list[dto.HistoryItem]:
    """Earlier reports and cases of the report's people, as far as the actor may see them:
    its linked people, the people its unlinked mentions may be, and earlier reports naming
    the same person before anyone linked them."""
    # Once per record: a report found through a linked person and through a mention alike.
    items: dict[tuple[str, str], dto.HistoryItem] = {}

    def add(item: dto.HistoryItem) -> None:
        items.setdefault((item.kind, item.label), item)

    for person in _people_of(ctx, access, report):
        for case, party in people_repo.cases_of_person(ctx.db, access, person.id):
            if case.id == report.case_id:
                continue
            add(
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
            add(_report_item(person.full_name, earlier))
        indexes = (person.student_id_index, person.name_dob_index)
        for earlier in _named_earlier(ctx, access, report, indexes, data_of(person)):
            add(_report_item(person.full_name, earlier))
    for mention in repository.report_mentions(ctx.db, report.id):
        if mention.person_id is None:
            indexes = (mention.student_id_index, mention.name_dob_index)
            data = _mention_data(report, mention)
            for earlier in _named_earlier(ctx, access, report, indexes, data):
                add(_report_item(mention.full_name, earlier))
    return sorted(items.values(), key=lambda h: h.when, reverse=True)


def _mention_views(ctx: ServiceContext, access: Access, report: Report) -> list[dto.MentionView]:
    views = []
    linked = {p.id: p for _link, p in repository.report_people(ctx.db, report.id)}
    for mention in repository.report_mentions(ctx.db, report.id):
        person = linked.get(mention.person_id) if mention.person_id is not None else None
        views.append(
            dto.MentionView(
                id=mention.id,
                part=mention.part,
                kind=mention.kind,
                name=mention.full_name,
                date_of_birth=mention.date_of_birth,
                student_number=mention.student_number,
                linked=(
                    people_dto.PartyView(
                        person_id=person.id,
                        name=person.full_name,
                        kind=person.kind,
                        part=mention.part,
                    )
                    if person is not None
                    else None
                ),
                candidates=[
                    dto.CandidateView(
                        person_id=c.id,
                        name=c.full_name,
                        kind=c.kind,
                        date_of_birth=c.date_of_birth,
                        school=_school_name(ctx, c.school_id) if c.school_id else None,
                    )
                    for c in _candidates(ctx, access, report, mention)
                ],
            )
        )
    return views


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
    mentions = _mention_views(ctx, access, report)
    mentioned = {m.linked.person_id for m in mentions if m.linked is not None}
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
            if p.id not in mentioned
        ],
        mentions=mentions,
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


def _link(
    ctx: ServiceContext, access: Access, report: Report, mention: ReportMention, person: Person
) -> None:
    mention.person_id = person.id
    mention.linked_at = ctx.now
    mention.linked_by = access.actor.user_id
    known = {
        (link.person_id, link.part) for link, _p in repository.report_people(ctx.db, report.id)
    }
    if (person.id, mention.part) not in known:
        ctx.db.add(ReportPerson(report_id=report.id, person_id=person.id, part=mention.part))
    ctx.db.flush()


def link_mention(
    ctx: ServiceContext, report_id: int, mention_id: int, *, person_id: int | None
) -> Staged[None]:
    """Link a person the report names to a person the actor may see, or to a new person.

    :raises NotFound: not a report the actor may triage, not one of its mentions, or a person
        the actor may not see (each recorded; the same answer as for one that does not exist).
    :raises ValidationFailed: the report was triaged already, or the mention is linked.
    """
    access = access_for(ctx)
    report = _report(ctx, access, report_id)
    mention = repository.report_mention(ctx.db, report.id, mention_id)
    if mention is None:
        refuse(ctx, object_type="report_mention", object_id=mention_id, reason="none")
    if report.status is not ReportStatus.RECEIVED:
        raise ValidationFailed("This report has been triaged already.")
    if mention.person_id is not None:
        raise ValidationFailed("This person is linked already.")
    if person_id is None:
        person = new_person(ctx, _mention_data(report, mention), district_id=report.district_id)
    else:
        found = people_repo.person(ctx.db, access, person_id)
        if found is None or found.merged_into_id is not None:
            refuse(ctx, object_type="person", object_id=person_id, reason="not visible")
        person = found
    _link(ctx, access, report, mention, person)
    return staged(
        None,
        _report_event(
            AuditAction.TRIAGE_PERSON_LINKED,
            report,
            purpose="new person" if person_id is None else "known person",
        ),
    )


def _link_the_rest(ctx: ServiceContext, access: Access, report: Report) -> None:
    """Link every mention the triager left: a person it may see, or a new one."""
    for mention in repository.report_mentions(ctx.db, report.id):
        if mention.person_id is None:
            person = find_or_create_person(
                ctx, _mention_data(report, mention), district_id=report.district_id
            )
            _link(ctx, access, report, mention, person)


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
    _link_the_rest(ctx, access, report)
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
        repository.bind_report_key_to_case(ctx.db, report.id, case.id)
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
