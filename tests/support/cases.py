"""Case records seeded through the services, as the team would create them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from flask import Flask

from btam.accounts.models import User
from btam.accounts.signin import actor_for
from btam.audit.context import AuditContext
from btam.cases.services import cases, emergency
from btam.cases.services.people import PersonData
from btam.cases.terms import Part, PersonKind, RecordClass
from btam.services import ServiceContext
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
    assignment_id: int


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
        north = cases.open_case(
            ctx,
            school_id=nhs,
            team_id=north_team,
            summary="Student said in class he would bring a knife on Friday.",
            subject=student("Jordan", "Rivera", born=date(2010, 3, 14), number="S-1001"),
        ).number
        quiet = cases.open_case(
            ctx,
            school_id=nhs,
            team_id=north_team,
            summary="Threatening note found in a locker.",
            subject=student("Casey", "Morgan", born=date(2011, 7, 2), number="S-1002"),
        ).number
        cases.add_note(ctx, north, record_class=RecordClass.EDUCATION, body="Met the parents.")
        cases.add_attachment(
            ctx,
            north,
            record_class=RecordClass.EDUCATION,
            filename="statement.pdf",
            content_type="application/pdf",
            data=PDF,
        )
        cases.assign_work(
            ctx,
            north,
            user_id=world.people["counselor_ana"].user_id,
            task="Weekly check-in with the student",
            due_on=None,
        )
    with acting_as(app, world, "member_gus") as ctx:
        cases.add_note(
            ctx,
            north,
            record_class=RecordClass.COUNSELING,
            body="Session notes: talked about home.",
            team_summary="Engaged; safety plan agreed.",
        )
        cases.add_attachment(
            ctx,
            north,
            record_class=RecordClass.COUNSELING,
            filename="screening.pdf",
            content_type="application/pdf",
            data=PDF,
        )
    with acting_as(app, world, "officer_hal") as ctx:
        cases.add_note(
            ctx,
            north,
            record_class=RecordClass.LAW_ENFORCEMENT,
            body="Evidence log: photo of the message.",
            team_summary="No weapon found at home.",
        )
        cases.add_attachment(
            ctx,
            north,
            record_class=RecordClass.LAW_ENFORCEMENT,
            filename="evidence.txt",
            content_type="text/plain",
            data=b"item 1: phone screenshot",
        )
    with acting_as(app, world, "outsider_dee") as ctx:
        south = cases.open_case(
            ctx,
            school_id=sms,
            team_id=south_team,
            summary="Posted a threat on social media.",
            subject=student("Sam", "Lee", born=date(2012, 1, 20), number="S-2001"),
        ).number
    with acting_as(app, world, "lead_ben") as ctx:
        view = cases.view_case(ctx, north)
        subject_id = view.parties[0].person_id
        note_ids = {n.record_class: n.id for n in view.notes if n.body is not None}
        attachment_ids = {a.record_class: a.id for a in view.attachments}
        assignment_id = view.assignments[0].id
    # lead_ben is an administrator: counseling and law-enforcement records are not his.
    assert set(note_ids) == {RecordClass.EDUCATION}
    with acting_as(app, world, "member_gus") as ctx:
        note_ids.update(
            {n.record_class: n.id for n in cases.view_case(ctx, north).notes if n.body is not None}
        )
        attachment_ids.update(
            {a.record_class: a.id for a in cases.view_case(ctx, north).attachments}
        )
    with acting_as(app, world, "officer_hal") as ctx:
        note_ids.update(
            {n.record_class: n.id for n in cases.view_case(ctx, north).notes if n.body is not None}
        )
        attachment_ids.update(
            {a.record_class: a.id for a in cases.view_case(ctx, north).attachments}
        )
    return Seeded(north, quiet, south, subject_id, note_ids, attachment_ids, assignment_id)


def grant_emergency(app: Flask, world: World, username: str, number: str) -> None:
    with acting_as(app, world, username) as ctx:
        emergency.request_grant(
            ctx,
            number=number,
            threat="The student told a friend he has a gun in his car in the south lot now.",
            parties="School resource officer and the principal of South Middle School",
        )


__all__ = ["Part", "Seeded", "acting_as", "grant_emergency", "seed_cases", "student"]
