"""Case records seeded through the services, as the team would create them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from flask import Flask

from btam.access.record_classes import RecordClass
from btam.accounts.models import User
from btam.accounts.signin import actor_for
from btam.audit.context import AuditContext
from btam.cases.services import emergency, opening, page, records
from btam.context import ServiceContext, carry_out
from btam.files import Upload
from btam.intake import repository as intake_repo
from btam.intake.services import reports, tips
from btam.intake.services.reports import PersonEntry, ReportData
from btam.intake.services.tips import TipData
from btam.intake.terms import Channel, ImmediateAction, TipCategory
from btam.people.services.matching import PersonData
from btam.people.terms import Part, PersonKind
from btam.plans.services import items
from btam.plans.terms import Aim, Intervention
from tests.support.personas import World

PDF = b"%PDF-1.4\n% test file\n"


@contextmanager
def acting_as(app: Flask, world: World, username: str) -> Iterator[ServiceContext]:
    """A service context acting as one persona (outside any request)."""
    rt = app.extensions["btam"]
    db = rt.stores.case_sessions()
    try:
        user = db.get(User, world.people[username].user_id)
        assert user is not None
        actor = actor_for(user, "")
        audit_ctx = AuditContext(
            actor_id=actor.user_id, actor_role=str(actor.role), request_id=None, client_address=None
        )
        yield rt.context(db, audit_ctx, actor)
    finally:
        db.close()


@dataclass(frozen=True)
class Seeded:
    north: str  # NHS, north team: notes and attachments of every class, work for counselor_ana
    north_quiet: str  # NHS, north team: nothing assigned to anyone
    south: str  # SMS, south team
    subject_id: int  # the north case's subject (a student)
    note_ids: dict[RecordClass, int]
    attachment_ids: dict[RecordClass, int]
    assignment_id: int  # the plan item counselor_ana owns on north


def student(given: str, family: str, *, born: date, number: str) -> PersonData:
    return PersonData(
        kind=PersonKind.STUDENT,
        given_name=given,
        family_name=family,
        date_of_birth=born,
        student_number=number,
    )


def seed_cases(app: Flask, world: World) -> Seeded:
    nhs, sms = world.school_ids["NHS"], world.school_ids["SMS"]
    north_team, south_team = world.team_ids["north"], world.team_ids["south"]
    with acting_as(app, world, "lead_ben") as ctx:
        north = carry_out(
            ctx,
            opening.open_case(
                ctx,
                school_id=nhs,
                team_id=north_team,
                summary="Student said in class he would bring a knife on Friday.",
                subject=student("Jordan", "Rivera", born=date(2010, 3, 14), number="S-1001"),
            ),
        ).number
        quiet = carry_out(
            ctx,
            opening.open_case(
                ctx,
                school_id=nhs,
                team_id=north_team,
                summary="Threatening note found in a locker.",
                subject=student("Casey", "Morgan", born=date(2011, 7, 2), number="S-1002"),
            ),
        ).number
        carry_out(
            ctx,
            records.add_note(
                ctx, north, record_class=RecordClass.EDUCATION, body="Met the parents."
            ),
        )
        carry_out(
            ctx,
            records.add_attachment(
                ctx,
                north,
                record_class=RecordClass.EDUCATION,
                filename="statement.pdf",
                content_type="application/pdf",
                data=PDF,
            ),
        )
        assignment_id = carry_out(
            ctx,
            items.add_item(
                ctx,
                north,
                items.ItemData(
                    intervention=Intervention.OTHER,
                    description="Weekly check-in with the student",
                    aim=Aim.SUBJECT,
                    owner_id=world.people["counselor_ana"].user_id,
                    due_on=None,
                ),
            ),
        )
    with acting_as(app, world, "member_gus") as ctx:
        carry_out(
            ctx,
            records.add_note(
                ctx,
                north,
                record_class=RecordClass.COUNSELING,
                body="Session notes: talked about home.",
                team_summary="Engaged; safety plan agreed.",
            ),
        )
        carry_out(
            ctx,
            records.add_attachment(
                ctx,
                north,
                record_class=RecordClass.COUNSELING,
                filename="screening.pdf",
                content_type="application/pdf",
                data=PDF,
            ),
        )
    with acting_as(app, world, "officer_hal") as ctx:
        carry_out(
            ctx,
            records.add_note(
                ctx,
                north,
                record_class=RecordClass.LAW_ENFORCEMENT,
                body="Evidence log: photo of the message.",
                team_summary="No weapon found at home.",
            ),
        )
        carry_out(
            ctx,
            records.add_attachment(
                ctx,
                north,
                record_class=RecordClass.LAW_ENFORCEMENT,
                filename="evidence.txt",
                content_type="text/plain",
                data=b"item 1: phone screenshot",
            ),
        )
    with acting_as(app, world, "outsider_dee") as ctx:
        south = carry_out(
            ctx,
            opening.open_case(
                ctx,
                school_id=sms,
                team_id=south_team,
                summary="Posted a threat on social media.",
                subject=student("Sam", "Lee", born=date(2012, 1, 20), number="S-2001"),
            ),
        ).number
    with acting_as(app, world, "lead_ben") as ctx:
        view = page.view_case(ctx, north)
        subject_id = view.parties[0].person_id
        note_ids = {n.record_class: n.id for n in view.notes if n.body is not None}
        attachment_ids = {a.record_class: a.id for a in view.attachments}
    # lead_ben is an administrator: counseling and law-enforcement records are not his.
    assert set(note_ids) == {RecordClass.EDUCATION}
    with acting_as(app, world, "member_gus") as ctx:
        note_ids.update(
            {n.record_class: n.id for n in page.view_case(ctx, north).notes if n.body is not None}
        )
        attachment_ids.update(
            {a.record_class: a.id for a in page.view_case(ctx, north).attachments}
        )
    with acting_as(app, world, "officer_hal") as ctx:
        note_ids.update(
            {n.record_class: n.id for n in page.view_case(ctx, north).notes if n.body is not None}
        )
        attachment_ids.update(
            {a.record_class: a.id for a in page.view_case(ctx, north).attachments}
        )
    return Seeded(north, quiet, south, subject_id, note_ids, attachment_ids, assignment_id)


def grant_emergency(app: Flask, world: World, username: str, number: str) -> None:
    with acting_as(app, world, username) as ctx:
        carry_out(
            ctx,
            emergency.request_grant(
                ctx,
                number=number,
                threat="The student told a friend he has a gun in his car in the south lot now.",
                parties="School resource officer and the principal of South Middle School",
            ),
        )


@dataclass(frozen=True)
class SeededReports:
    nhs_report: int  # teacher_cam's, North High: a subject, a file, imminent danger
    nhs_file: int  # the file of nhs_report
    sms_report: int  # teacher_cam's, South Middle: a file, the reporter kept confidential
    sms_file: int  # the file of sms_report
    nhs_tip: int  # an anonymous tip about North High, one message each way
    sms_tip: int  # an anonymous tip about South Middle
    tip_code: str  # nhs_tip's follow-up code, as the tipster was shown it
    nhs_mention: int  # Taylor Brooks as nhs_report names him, not yet linked
    sms_mention: int  # Avery Quinn as sms_report names her, not yet linked


@contextmanager
def as_tipster(app: Flask) -> Iterator[ServiceContext]:
    """A service context with no actor, as the tip line's (outside any request)."""
    rt = app.extensions["btam"]
    db = rt.stores.case_sessions()
    try:
        yield rt.context(
            db,
            AuditContext(
                actor_id=None, actor_role="anonymous", request_id=None, client_address=None
            ),
        )
    finally:
        db.close()


def _tip(app: Flask, data: TipData) -> tuple[int, str]:
    """An anonymous tip sent through the service (no client: the rate limit counts nothing)."""
    with as_tipster(app) as ctx:
        code = carry_out(ctx, tips.submit_tip(ctx, data, client=None)).code
        access = intake_repo.tip_access(ctx.db, code.replace("-", "")[: tips.LOOKUP_CHARS])
        assert access is not None
        return access.report_id, code


def seed_reports(app: Flask, world: World) -> SeededReports:
    """Reports and tips waiting for triage, sent through the intake services.

    teacher_cam reports an imminent danger at North High (a subject, a file, the immediate
    actions taken) and, confidentially, a concern at South Middle (a subject, a file); the
    people are kept as typed, linked by nobody yet; two anonymous tips come
    in, one for each school, and the North team and the tipster exchange a message on the
    North High one.
    """
    nhs, sms = world.school_ids["NHS"], world.school_ids["SMS"]
    with acting_as(app, world, "teacher_cam") as ctx:
        nhs_report = carry_out(
            ctx,
            reports.submit_report(
                ctx,
                ReportData(
                    school_id=nhs,
                    channel=Channel.STAFF,
                    occurred="Tuesday at lunch",
                    location="the cafeteria line",
                    narrative=(
                        "Taylor Brooks said he would bring his uncle's rifle to the pep rally."
                    ),
                    people=(
                        PersonEntry(
                            Part.SUBJECT,
                            student("Taylor", "Brooks", born=date(2009, 11, 2), number="S-1003"),
                        ),
                    ),
                    attachment=Upload("rally-message.txt", "text/plain", b"see you at the rally"),
                    imminent=True,
                    actions=((ImmediateAction.CALLED_911, "Principal Okonkwo", ctx.now),),
                ),
            ),
        ).report_id
        sms_report = carry_out(
            ctx,
            reports.submit_report(
                ctx,
                ReportData(
                    school_id=sms,
                    channel=Channel.PARENT,
                    occurred="Last Monday",
                    location="the library",
                    narrative="A parent saw a hit list in Avery Quinn's notebook.",
                    people=(
                        PersonEntry(
                            Part.SUBJECT,
                            PersonData(
                                kind=PersonKind.STUDENT, given_name="Avery", family_name="Quinn"
                            ),
                        ),
                    ),
                    attachment=Upload("hit-list-photo.pdf", "application/pdf", PDF),
                    confidential=True,
                ),
            ),
        ).report_id
        nhs_mention, sms_mention = (
            intake_repo.report_mentions(ctx.db, r)[0].id for r in (nhs_report, sms_report)
        )
        nhs_file, sms_file = (
            intake_repo.report_attachments(ctx.db, r)[0].id for r in (nhs_report, sms_report)
        )
    nhs_tip, tip_code = _tip(
        app,
        TipData(
            school_id=nhs,
            category=TipCategory.WEAPON,
            what="Dakota Reyes keeps a switchblade in a gym bag.",
            who="Dakota Reyes, tenth grade",
            where="the bleachers",
            when="every morning before first period",
        ),
    )
    sms_tip, _code = _tip(
        app,
        TipData(
            school_id=sms,
            category=TipCategory.BULLYING,
            what="Older kids corner Emerson Vance at the bus loop.",
            who="Emerson Vance",
            where="the bus loop",
            when="after dismissal",
        ),
    )
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx,
            tips.team_message(ctx, nhs_tip, "Thank you. Have you seen the switchblade yourself?"),
        )
    with as_tipster(app) as ctx:
        carry_out(
            ctx,
            tips.tipster_message(ctx, tip_code, "Yes, on the bleachers last week.", client=None),
        )
    return SeededReports(
        nhs_report,
        nhs_file,
        sms_report,
        sms_file,
        nhs_tip,
        sms_tip,
        tip_code,
        nhs_mention,
        sms_mention,
    )


__all__ = [
    "Part",
    "Seeded",
    "SeededReports",
    "acting_as",
    "as_tipster",
    "grant_emergency",
    "seed_cases",
    "seed_reports",
    "student",
]
