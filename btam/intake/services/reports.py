"""Staff reports and the imminent-danger path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from btam.access import policy
from btam.access.policy import Act
from btam.accounts import repository as accounts_repo
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.cases.services.guard import access_for
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.files import Upload, check_file
from btam.intake import dto, repository
from btam.intake.models import (
    Report,
    ReportAction,
    ReportAttachment,
    ReportMention,
)
from btam.intake.terms import Channel, ImmediateAction
from btam.people.services.matching import PersonData, checked, indexes_of
from btam.people.terms import Part
from btam.plans.services import calendar
from btam.text import clean_text

NARRATIVE_MAX = 20_000


SHORT_MAX = 500


STAFF_CHANNELS = tuple(c for c in Channel if c is not Channel.ANONYMOUS_TIP)


@dataclass(frozen=True)
class PersonEntry:
    part: Part
    person: PersonData


@dataclass(frozen=True)
class ReportData:
    school_id: int
    channel: Channel
    occurred: str
    location: str
    narrative: str
    people: Sequence[PersonEntry] = ()
    attachment: Upload | None = None
    confidential: bool = False
    imminent: bool = False
    actions: Sequence[tuple[ImmediateAction, str, datetime]] = ()


@dataclass(frozen=True)
class Submitted:
    report_id: int
    imminent: bool


def one_school_day_after(moment: datetime) -> datetime:
    """The next weekday at the same time (UTC weekdays; without the district's calendar).

    Reports are due at ``plans.services.calendar.school_days_after``: the district's zone and
    its non-school days.
    """
    due = moment + timedelta(days=1)
    while due.weekday() >= 5:  # Saturday, Sunday
        due += timedelta(days=1)
    return due


def schools(ctx: ServiceContext) -> list[dto.SchoolChoice]:
    """The district's active schools, for the report and tip forms."""
    return [dto.SchoolChoice(s.id, s.name) for s in accounts_repo.active_schools(ctx.db)]


def district_of_school(ctx: ServiceContext, school_id: int) -> int:
    school = accounts_repo.school(ctx.db, school_id)
    if school is None or not school.is_active:
        raise ValidationFailed("Choose a school.", field="school_id")
    return school.district_id


def attach_file(ctx: ServiceContext, report: Report, upload: Upload | None) -> None:
    if upload is None or not upload.data:
        return
    check_file(upload.content_type, upload.data)
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    row = ReportAttachment(
        report_id=report.id,
        filename=name or "attachment",
        content_type=upload.content_type,
        created_at=ctx.now,
    )
    row.content = upload.data
    ctx.db.add(row)


# Every person a report names is kept as typed, so this is the one answer about a person:
# it never depends on who is known already.
NAME_EACH = "Give each person's name (a student id alone is not enough)."


def mention_of(ctx: ServiceContext, report: Report, entry: PersonEntry) -> ReportMention:
    """The person as the reporter typed it, to be linked by the team at triage.

    :raises ValidationFailed: not named, or named wrongly (the same rules on every path).
    """
    person = checked(entry.person)
    if not person.given_name and not person.family_name:
        raise ValidationFailed(NAME_EACH)
    by_number, by_name = indexes_of(ctx, person)
    return ReportMention(
        report_id=report.id,
        part=entry.part,
        kind=person.kind,
        given_name=person.given_name or None,
        family_name=person.family_name or None,
        date_of_birth_text=person.date_of_birth.isoformat() if person.date_of_birth else None,
        student_number=person.student_number or None,
        student_id_index=by_number,
        name_dob_index=by_name,
    )


def submit_report(ctx: ServiceContext, data: ReportData) -> Staged[Submitted]:
    """A signed-in user's report, the people it names (as typed), immediate actions and file.

    The people are not looked up: the reporter learns nothing of who is known, and the team
    links them at triage among the people it may see.

    :raises ValidationFailed: a field is missing, too long or of the wrong kind.
    """
    access = access_for(ctx)
    policy.require(access, Act.SUBMIT_REPORT, None)
    if data.channel not in STAFF_CHANNELS:
        raise ValidationFailed("Choose how this came to you.", field="channel")
    district_id = district_of_school(ctx, data.school_id)
    narrative = clean_text(data.narrative, field="narrative", limit=NARRATIVE_MAX, required=True)
    report = Report(
        district_id=district_id,
        school_id=data.school_id,
        channel=data.channel,
        received_at=ctx.now,
        due_at=calendar.school_days_after(ctx, ctx.now),
        reporter_id=access.actor.user_id,
        reporter_confidential=data.confidential,
        occurred=clean_text(data.occurred, field="occurred", limit=SHORT_MAX),
        location=clean_text(data.location, field="location", limit=SHORT_MAX),
        narrative=narrative,
        imminent=data.imminent,
    )
    ctx.db.add(report)
    ctx.db.flush()
    for entry in data.people:
        ctx.db.add(mention_of(ctx, report, entry))
    for action, by_whom, at in data.actions:
        ctx.db.add(
            ReportAction(
                report_id=report.id,
                action=action,
                taken_by=clean_text(by_whom, field="actions", limit=SHORT_MAX) or "",
                taken_at=at,
                recorded_by=access.actor.user_id,
                recorded_at=ctx.now,
            )
        )
    attach_file(ctx, report, data.attachment)
    return staged(
        Submitted(report.id, data.imminent),
        AuditEvent(
            AuditAction.INTAKE_REPORT_SUBMITTED,
            object_type="report",
            object_id=report.id,
            school_id=report.school_id,
            purpose=f"{data.channel.value}{', imminent danger' if data.imminent else ''}",
            # The lead alone may know who reported, and the audit trail is read and exported
            # by others: the entry names no one (the report row keeps the reporter for the lead).
            anonymous=data.confidential,
        ),
    )


def my_reports(ctx: ServiceContext) -> list[dto.OwnReport]:
    """The signed-in user's own reports: status only, never the outcome's details."""
    access = access_for(ctx)
    rows = repository.own_reports(ctx.db, access)
    return [
        dto.OwnReport(
            id=r.id,
            received_at=r.received_at,
            school=(s.name if (s := accounts_repo.school(ctx.db, r.school_id)) else ""),
            status=r.status,
        )
        for r in rows
    ]
