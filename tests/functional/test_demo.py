"""``btam demo``: the district, its accounts and the team's fictional cases, loaded once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import func, select

from btam.accounts.models import User
from btam.accounts.signin import actor_for
from btam.audit import trail
from btam.audit.context import AuditContext
from btam.cases.models import (
    Assignment,
    Attachment,
    Case,
    CaseMember,
    CaseParty,
    Disclosure,
    EmergencyGrant,
    Note,
    Person,
)
from btam.cases.services import cases, people
from btam.cases.services.people import PersonData
from btam.cases.terms import CaseStatus, DisclosureBasis, Level, Part, PersonKind, RecordClass
from btam.demo import ACCOUNTS, OFFICER_AGENCY, DemoResult, load_demo
from btam.demo_cases import CASES, TYLER
from btam.services import ServiceContext

PASSWORD = "correct horse battery staple 42"
TABLES = (Case, CaseParty, CaseMember, Person, Note, Attachment, Assignment, Disclosure)


@contextmanager
def system(app: Flask) -> Iterator[ServiceContext]:
    rt = app.extensions["btam"]
    db = rt.stores.case_sessions()
    try:
        yield rt.context(db, AuditContext.system())
    finally:
        db.close()


@contextmanager
def acting_as(app: Flask, username: str) -> Iterator[ServiceContext]:
    rt = app.extensions["btam"]
    db = rt.stores.case_sessions()
    try:
        user = db.execute(select(User).where(User.username == username)).scalar_one()
        actor = actor_for(user, "")
        audit_ctx = AuditContext(
            actor_id=user.id, actor_role=str(user.role), request_id=None, client_address=None
        )
        yield rt.context(db, audit_ctx, actor)
    finally:
        db.close()


def counts(app: Flask) -> dict[str, int]:
    with system(app) as ctx:
        found = {
            table.__tablename__: ctx.db.execute(
                select(func.count()).select_from(table)
            ).scalar_one()
            for table in (*TABLES, EmergencyGrant, User)
        }
    with acting_as(app, "auditor.mensah") as ctx:
        found["emergency grants to review"] = len(trail.grant_queue(ctx))
    return found


@pytest.fixture
def demo(app: Flask) -> DemoResult:
    with system(app) as ctx:
        return load_demo(ctx, password=PASSWORD)


def test_a_second_run_adds_nothing(app: Flask, demo: DemoResult) -> None:
    assert len(demo.cases) == len(CASES) and len(demo.created) == len(ACCOUNTS)
    before = counts(app)
    with system(app) as ctx:
        again = load_demo(ctx, password=PASSWORD)
    assert again.cases == () and again.created == ()
    assert counts(app) == before


def test_the_cases_are_at_every_stage_and_level(app: Flask, demo: DemoResult) -> None:
    with system(app) as ctx:
        rows = ctx.db.execute(select(Case).order_by(Case.opened_at)).scalars().all()
        assert [c.number for c in rows] == sorted(demo.cases)
        assert {c.status for c in rows} == set(CaseStatus)
        assert {Level.LOW, Level.MODERATE, Level.HIGH} <= {c.level for c in rows}
        closed = [c for c in rows if c.status is CaseStatus.CLOSED]
        assert closed and all(c.closed_at is not None for c in closed)
        assert len({c.opened_at.date() for c in rows}) == len(rows)  # weeks of work, not one day
        subjects = ctx.db.execute(
            select(Person.kind).join(CaseParty).where(CaseParty.part == Part.SUBJECT)
        ).scalars()
        assert set(subjects) == set(PersonKind)
        parts = set(ctx.db.execute(select(CaseParty.part)).scalars())
        assert {Part.TARGET, Part.WITNESS, Part.PARENT, Part.REPORTER} <= parts


def test_notes_of_all_three_classes_and_summaries_for_the_team(
    app: Flask, demo: DemoResult
) -> None:
    with system(app) as ctx:
        notes = ctx.db.execute(select(Note)).scalars().all()
        authors = {u.id: u.username for u in ctx.db.execute(select(User)).scalars()}
        by_class = {k: [n for n in notes if n.record_class is k] for k in RecordClass}
        assert all(by_class.values())
        assert all(
            n.team_summary
            for k in RecordClass
            if k is not RecordClass.EDUCATION
            for n in by_class[k]
        )
        assert {authors[n.author_id] for n in by_class[RecordClass.COUNSELING]} == {
            "psych.lindqvist"
        }
        assert {authors[n.author_id] for n in by_class[RecordClass.LAW_ENFORCEMENT]} == {
            "sro.reyes"
        }
        assert "lead.okafor" in {authors[n.author_id] for n in by_class[RecordClass.EDUCATION]}
        files = ctx.db.execute(select(Attachment)).scalars().all()
        assert files and {f.content_type for f in files} == {"text/plain"}
        officer = ctx.db.execute(select(User).where(User.username == "sro.reyes")).scalar_one()
        assert officer.agency == OFFICER_AGENCY


def test_the_lead_reads_education_notes_and_the_summaries_only(
    app: Flask, demo: DemoResult
) -> None:
    with acting_as(app, "lead.okafor") as ctx:
        assert len(cases.list_cases(ctx)) == len(CASES)
        for number in demo.cases:
            view = cases.view_case(ctx, number)
            for note in view.notes:
                readable = note.record_class is RecordClass.EDUCATION
                assert (note.body is not None) == readable
                assert readable or note.team_summary


def test_one_student_is_found_in_two_cases(app: Flask, demo: DemoResult) -> None:
    with acting_as(app, "lead.okafor") as ctx:
        matches = people.search_people(
            ctx, PersonData(kind=PersonKind.STUDENT, student_number=TYLER.student_number)
        )
    assert len(matches) == 1
    assert [part for _number, part, _status in matches[0].cases] == [Part.SUBJECT] * 2
    assert {status for _n, _p, status in matches[0].cases} == {
        CaseStatus.CLOSED,
        CaseStatus.MANAGEMENT,
    }


def test_a_disclosure_and_an_emergency_grant_for_the_auditor(app: Flask, demo: DemoResult) -> None:
    with system(app) as ctx:
        grant = ctx.db.execute(select(EmergencyGrant)).scalar_one()
        holder = ctx.db.get(User, grant.user_id)
        assert holder is not None and holder.username == "ap.chen"
        assert grant.expires_at > ctx.now and grant.ended_at is None
        rows = ctx.db.execute(select(Disclosure)).scalars().all()
        consent = [d for d in rows if d.basis is DisclosureBasis.PARENT_CONSENT]
        assert len(consent) == 1 and not consent[0].is_emergency
        emergencies = [d for d in rows if d.is_emergency]
        parties = ctx.db.execute(
            select(func.count()).select_from(CaseParty).where(CaseParty.case_id == grant.case_id)
        ).scalar_one()
        assert len(emergencies) == parties
        assert all(d.emergency_grant_id == grant.id for d in emergencies)
    with acting_as(app, "auditor.mensah") as ctx:
        queue = trail.grant_queue(ctx)
        assert len(queue) == 1 and not queue[0].reviewed
        assert len(people.list_disclosures(ctx)) == len(rows)
    with acting_as(app, "ap.chen") as ctx:
        view = cases.view_case(ctx, ctx.db.get(Case, grant.case_id).number)  # type: ignore[union-attr]
        assert view.by_emergency_grant
        assert {n.record_class for n in view.notes if n.body} == {RecordClass.EDUCATION}


def test_the_counselor_sees_one_case_header_and_its_task(app: Flask, demo: DemoResult) -> None:
    with acting_as(app, "counselor.ng") as ctx:
        headers = cases.list_cases(ctx)
        assert len(headers) == 1
        view = cases.view_case(ctx, headers[0].number)
    assert not view.full and view.summary is None and view.notes == []
    assert len(view.assignments) == 1 and "check-in" in view.assignments[0].task


@pytest.mark.parametrize(
    ("username", "visible"),
    [
        ("lead.okafor", 6),
        ("psych.lindqvist", 6),
        ("sro.reyes", 6),
        ("ap.chen", 5),  # the four RHS cases, and the CPMS case of her emergency grant
        ("teacher.haddad", 3),  # the two CPMS cases, and the RHS case he was added to
        ("counselor.ng", 1),
    ],
)
def test_who_sees_which_cases(app: Flask, demo: DemoResult, username: str, visible: int) -> None:
    with acting_as(app, username) as ctx:
        assert len(cases.list_cases(ctx)) == visible


def test_an_officer_made_before_agencies_gets_one(app: Flask, demo: DemoResult) -> None:
    with system(app) as ctx:
        officer = ctx.db.execute(select(User).where(User.username == "sro.reyes")).scalar_one()
        officer.agency = None
        ctx.db.commit()
        load_demo(ctx, password=PASSWORD)
        ctx.db.refresh(officer)
        assert officer.agency == OFFICER_AGENCY
