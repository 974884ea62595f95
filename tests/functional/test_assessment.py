"""Fact-based assessment: sourced facts with versions, answers from facts, determinations
decided by a quorum that confirms with its own sign-ins, notices and duties to report.

Personas (tests/support/personas.py): the north team is lead_ben (administrator),
member_gus (mental health) and officer_hal (law enforcement), at North High; outsider_dee
leads the south team; counselor_ana has work on the north case.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from btam import create_app
from btam.access.actor import Discipline, Role
from btam.access.record_classes import RecordClass
from btam.accounts.services import organisation, users
from btam.assessment import catalog
from btam.assessment.models import Determination, Fact
from btam.assessment.services import answers, determinations, facts, notices
from btam.assessment.services import view as assessment_view
from btam.assessment.services.determinations import DeterminationData, QuorumMissing
from btam.assessment.services.facts import FactData
from btam.assessment.terms import (
    DeterminationStatus,
    FactSource,
    Method,
    NoticeKind,
    Offence,
    Response,
)
from btam.audit.actions import AuditAction
from btam.cases import repository as case_repo
from btam.cases.lifecycle import CaseClosed, Transition
from btam.cases.models import Case
from btam.cases.services import opening, page
from btam.cases.services.guard import load_case
from btam.cases.terms import CaseStatus
from btam.context import carry_out
from btam.errors import AccessDenied, NotFound, ValidationFailed
from btam.plans.services import closure, items
from btam.plans.terms import ItemStatus
from btam.settings import ConfigError
from tests.support.cases import Seeded, acting_as, seed_cases, student
from tests.support.personas import World, system_ctx
from tests.support.stores import audit_entries
from tests.support.web import signed_in


@pytest.fixture
def seeded(app: Flask, world: World) -> Seeded:
    return seed_cases(app, world)


def uid(world: World, who: str) -> int:
    return world.people[who].user_id


def add_fact(
    app: Flask, world: World, number: str, who: str = "lead_ben", **changes: object
) -> int:
    data = {
        "source": FactSource.INTERVIEW_WITNESS,
        "learned_on": date.today(),
        "statement": "A classmate heard Jordan say 'Friday you all see' at lunch.",
        "interviewee_party_id": None,
    } | changes
    with acting_as(app, world, who) as ctx:
        if data["source"].interviewee and data["interviewee_party_id"] is None:  # type: ignore[attr-defined]
            loaded = load_case(ctx, number)
            parties = page.case_view(ctx, loaded).parties
            data["interviewee_party_id"] = _party_id(ctx, loaded.case.id, parties[0].person_id)
        return carry_out(ctx, facts.add_fact(ctx, number, FactData(**data)))  # type: ignore[arg-type]


def _party_id(ctx: object, case_id: int, person_id: int) -> int:

    return next(
        p.id
        for p, person in case_repo.parties(ctx.db, case_id)  # type: ignore[attr-defined]
        if person.id == person_id
    )


def record(
    app: Flask,
    world: World,
    number: str,
    fact_ids: list[int],
    *,
    by: str = "lead_ben",
    participants: tuple[str, ...] = ("member_gus", "officer_hal"),
    classification: str = "substantive_serious",
    level: str = "high",
    knows: tuple[str, ...] = (),
    offence: Offence | None = None,
) -> int:
    with acting_as(app, world, by) as ctx:
        return carry_out(
            ctx,
            determinations.record_determination(
                ctx,
                number,
                DeterminationData(
                    classification=classification,
                    level=level,
                    rationale="A specific threat to a class, a stated grievance, no plan found.",
                    facts=fact_ids,
                    participants=[uid(world, p) for p in participants],
                    knows_subject=[uid(world, p) for p in knows],
                    offence=offence,
                ),
            ),
        )


def confirm(app: Flask, world: World, who: str, number: str, determination_id: int) -> object:
    with acting_as(app, world, who) as ctx:
        return carry_out(ctx, determinations.respond(ctx, number, determination_id, confirm=True))


def case_state(app: Flask, number: str) -> tuple[CaseStatus, str | None]:
    with app.extensions["btam"].stores.case_sessions() as db:
        row = db.execute(select(Case).where(Case.number == number)).scalar_one()
        return row.status, row.level


def view_as(app: Flask, world: World, who: str, number: str):  # type: ignore[no-untyped-def]
    with acting_as(app, world, who) as ctx:
        return assessment_view.assessment_view(ctx, load_case(ctx, number))


# --------------------------------------------------------------------------- determinations


def test_a_pending_determination_changes_nothing_until_every_participant_confirms(
    app: Flask, world: World, seeded: Seeded
) -> None:
    fact = add_fact(app, world, seeded.north)
    determination = record(app, world, seeded.north, [fact])
    assert case_state(app, seeded.north) == (CaseStatus.ASSESSMENT, None)
    # The others see it as theirs to confirm, on their home page and the case page.
    with acting_as(app, world, "member_gus") as ctx:
        waiting = determinations.to_confirm(ctx)
    assert [(t.case_number, t.determination_id) for t in waiting] == [(seeded.north, determination)]
    with acting_as(app, world, "lead_ben") as ctx:
        assert determinations.to_confirm(ctx) == []
    assert (
        confirm(app, world, "member_gus", seeded.north, determination)
        is DeterminationStatus.PENDING
    )
    assert case_state(app, seeded.north) == (CaseStatus.ASSESSMENT, None)
    assert (
        confirm(app, world, "officer_hal", seeded.north, determination)
        is DeterminationStatus.CONFIRMED
    )
    assert case_state(app, seeded.north) == (CaseStatus.MANAGEMENT, "high")
    view = view_as(app, world, "lead_ben", seeded.north)
    assert view.current is not None and view.current.id == determination
    assert {p.name: p.response for p in view.current.participants} == {
        "Ben Lead": Response.CONFIRMED,
        "Gus Member": Response.CONFIRMED,
        "Hal Officer": Response.CONFIRMED,
    }
    # The change is the lifecycle's: in the case's history, with the determination's reason.
    with acting_as(app, world, "lead_ben") as ctx:
        history = page.view_case(ctx, seeded.north).history
    assert [(h.transition, h.to_status, h.to_level) for h in history] == [
        (Transition.BEGIN_MANAGEMENT, CaseStatus.MANAGEMENT, "High")
    ]
    assert history[0].reason is not None and history[0].reason.startswith("Determination v1")
    actions = [e.action for e in audit_entries(app, AuditAction.CASE_DETERMINATION_CONFIRMED.value)]
    assert len(actions) == 2


def test_an_objection_leaves_the_determination_disputed_and_the_case_unchanged(
    app: Flask, world: World, seeded: Seeded
) -> None:
    determination = record(app, world, seeded.north, [add_fact(app, world, seeded.north)])
    with acting_as(app, world, "officer_hal") as ctx:
        with pytest.raises(ValidationFailed, match="required"):
            determinations.respond(ctx, seeded.north, determination, confirm=False, objection=" ")
        ctx.db.rollback()
        status = carry_out(
            ctx,
            determinations.respond(
                ctx,
                seeded.north,
                determination,
                confirm=False,
                objection="The rifle is not confirmed; we need the home visit first.",
            ),
        )
    assert status is DeterminationStatus.DISPUTED
    with pytest.raises(ValidationFailed, match="disputed"):
        confirm(app, world, "member_gus", seeded.north, determination)
    assert case_state(app, seeded.north) == (CaseStatus.ASSESSMENT, None)
    view = view_as(app, world, "member_gus", seeded.north)
    assert view.determinations[0].participants[2].objection == (
        "The rifle is not confirmed; we need the home visit first."
    )


def test_not_a_threat_closes_the_case_with_the_rationale_as_closing_reason(
    app: Flask, world: World, seeded: Seeded
) -> None:
    determination = record(
        app,
        world,
        seeded.north,
        [add_fact(app, world, seeded.north)],
        classification="not_a_threat",
        level="low",
    )
    confirm(app, world, "member_gus", seeded.north, determination)
    confirm(app, world, "officer_hal", seeded.north, determination)
    assert case_state(app, seeded.north) == (CaseStatus.CLOSED, "low")
    with acting_as(app, world, "lead_ben") as ctx:
        history = page.view_case(ctx, seeded.north).history
    assert history[-1].transition is Transition.CLOSE
    assert "A specific threat to a class" in (history[-1].reason or "")


def test_a_quorum_missing_a_discipline_is_refused_naming_it(
    app: Flask, world: World, seeded: Seeded
) -> None:
    fact = add_fact(app, world, seeded.north)
    with pytest.raises(QuorumMissing, match=r"missing: Law enforcement\.$"):
        record(app, world, seeded.north, [fact], participants=("member_gus",))
    with pytest.raises(QuorumMissing, match=r"missing: Mental health, Law enforcement\.$"):
        record(app, world, seeded.north, [fact], participants=())
    # Someone who does not work the case cannot be named, even with the right discipline.
    with pytest.raises(ValidationFailed, match="among those who work this case"):
        record(app, world, seeded.north, [fact], participants=("member_gus", "outsider_dee"))
    with app.extensions["btam"].stores.case_sessions() as db:
        assert db.scalar(select(func.count(Determination.id))) == 0


def test_a_new_determination_adds_a_version_and_supersedes_the_pending_one(
    app: Flask, world: World, seeded: Seeded
) -> None:
    fact = add_fact(app, world, seeded.north)
    first = record(app, world, seeded.north, [fact], level="high")
    second = record(app, world, seeded.north, [fact], level="moderate")
    with pytest.raises(ValidationFailed, match="superseded"):
        confirm(app, world, "member_gus", seeded.north, first)
    confirm(app, world, "member_gus", seeded.north, second)
    confirm(app, world, "officer_hal", seeded.north, second)
    view = view_as(app, world, "lead_ben", seeded.north)
    assert [(d.version, d.status, d.level) for d in view.determinations] == [
        (2, DeterminationStatus.CONFIRMED, "moderate"),
        (1, DeterminationStatus.SUPERSEDED, "high"),
    ]
    # A later, confirmed determination changes the level through the lifecycle.
    third = record(app, world, seeded.north, [fact], level="low")
    confirm(app, world, "member_gus", seeded.north, third)
    confirm(app, world, "officer_hal", seeded.north, third)
    assert case_state(app, seeded.north) == (CaseStatus.MANAGEMENT, "low")
    with app.extensions["btam"].stores.case_sessions() as db:
        rationales = db.execute(select(Determination.version).order_by(Determination.version))
        assert list(rationales.scalars()) == [1, 2, 3]


def test_only_a_participant_confirms_and_only_once(
    app: Flask, world: World, seeded: Seeded
) -> None:
    determination = record(app, world, seeded.north, [add_fact(app, world, seeded.north)])
    with pytest.raises(ValidationFailed, match="answered already"):
        confirm(app, world, "lead_ben", seeded.north, determination)
    # A member of another team does not even find the case.
    with pytest.raises(NotFound):
        confirm(app, world, "outsider_dee", seeded.north, determination)
    # A counselor with work on the case sees its header only.
    with pytest.raises(AccessDenied):
        confirm(app, world, "counselor_ana", seeded.north, determination)
    confirm(app, world, "member_gus", seeded.north, determination)
    with pytest.raises(ValidationFailed, match="answered already"):
        confirm(app, world, "member_gus", seeded.north, determination)


def test_the_florida_profile_needs_instruction_and_someone_who_knows_the_student(
    app: Flask, world: World
) -> None:
    ctx = system_ctx(app)
    try:
        carry_out(ctx, organisation.update_district(ctx, assessment_model="florida"))
        teacher = carry_out(
            ctx,
            users.create_user(
                ctx,
                data=users.UserData(
                    username="teacher_ivy",
                    display_name="Ivy Teacher",
                    role=Role.TEAM_MEMBER,
                    discipline=Discipline.INSTRUCTION,
                    district_wide=False,
                    school_ids=(world.school_ids["NHS"],),
                ),
                password="a long enough passphrase for ivy",
            ),
        ).user_id
        north = organisation.get_team(ctx, world.team_ids["north"])
        carry_out(
            ctx,
            organisation.update_team(
                ctx,
                team_id=north.id,
                data=organisation.TeamData(
                    name="North Team",
                    school_ids=north.school_ids,
                    member_ids=(*north.member_ids, teacher),
                ),
            ),
        )
    finally:
        ctx.db.close()
    world.people["teacher_ivy"] = world.people["member_gus"].__class__(
        "teacher_ivy", "", teacher, Role.TEAM_MEMBER, None
    )
    with acting_as(app, world, "lead_ben") as ctx:
        number = carry_out(
            ctx,
            opening.open_case(
                ctx,
                school_id=world.school_ids["NHS"],
                team_id=world.team_ids["north"],
                summary="Threatening drawing in a notebook.",
                subject=student("Rowan", "Lake", born=date(2011, 4, 4), number="S-4001"),
            ),
        ).number
    fact = add_fact(app, world, number)
    with pytest.raises(QuorumMissing, match=r"missing: Instruction, .*knows the student"):
        record(app, world, number, [fact], level="high")
    with pytest.raises(QuorumMissing, match=r"knows the student"):
        record(
            app,
            world,
            number,
            [fact],
            level="high",
            participants=("member_gus", "officer_hal", "teacher_ivy"),
        )
    # The Florida profile has no "moderate": its levels are low, medium and high.
    with pytest.raises(ValidationFailed, match="level"):
        record(
            app,
            world,
            number,
            [fact],
            level="moderate",
            participants=("member_gus", "officer_hal", "teacher_ivy"),
            knows=("teacher_ivy",),
        )
    determination = record(
        app,
        world,
        number,
        [fact],
        level="medium",
        participants=("member_gus", "officer_hal", "teacher_ivy"),
        knows=("teacher_ivy",),
    )
    for who in ("member_gus", "officer_hal", "teacher_ivy"):
        confirm(app, world, who, number, determination)
    assert case_state(app, number) == (CaseStatus.MANAGEMENT, "medium")
    view = view_as(app, world, "lead_ben", number)
    assert view.model_ref == "florida-v1"
    with acting_as(app, world, "lead_ben") as ctx:
        assert page.view_case(ctx, number).header.level_label == "Medium concern"


def test_a_case_keeps_the_model_version_it_was_opened_with(
    app: Flask, world: World, seeded: Seeded
) -> None:
    ctx = system_ctx(app)
    try:
        carry_out(ctx, organisation.update_district(ctx, assessment_model="florida"))
    finally:
        ctx.db.close()
    assert view_as(app, world, "lead_ben", seeded.north).model_ref == "default-v1"


# --------------------------------------------------------------------------- facts


def test_a_correction_adds_a_version_and_the_old_one_stays_with_its_author(
    app: Flask, world: World, seeded: Seeded
) -> None:
    first = add_fact(app, world, seeded.north, statement="Heard it on Monday.")
    with acting_as(app, world, "member_gus") as ctx:
        second = carry_out(
            ctx,
            facts.correct_fact(
                ctx,
                seeded.north,
                first,
                FactData(
                    source=FactSource.OBSERVATION,
                    learned_on=date.today(),
                    statement="Heard it on Tuesday, not Monday.",
                ),
            ),
        )
        with pytest.raises(ValidationFailed, match="corrected already"):
            facts.correct_fact(
                ctx,
                seeded.north,
                first,
                FactData(FactSource.OBSERVATION, date.today(), "A third story."),
            )
    view = view_as(app, world, "lead_ben", seeded.north)
    (shown,) = view.facts
    assert (shown.id, shown.series_id, shown.version) == (second, first, 2)
    assert shown.statement == "Heard it on Tuesday, not Monday."
    assert [(v.version, v.statement, v.author) for v in shown.earlier] == [
        (1, "Heard it on Monday.", "Ben Lead")
    ]
    with app.extensions["btam"].stores.case_sessions() as db:
        assert db.scalar(select(func.count(Fact.id))) == 2


def test_counseling_and_law_enforcement_facts_follow_their_class(
    app: Flask, world: World, seeded: Seeded
) -> None:
    add_fact(
        app,
        world,
        seeded.north,
        "member_gus",
        source=FactSource.INTERVIEW_SUBJECT,
        record_class=RecordClass.COUNSELING,
        statement="Session: talked about the divorce and sleeping badly.",
        team_summary="Engaged; no current suicide risk.",
    )
    add_fact(
        app,
        world,
        seeded.north,
        "officer_hal",
        source=FactSource.WEAPONS_ACCESS,
        record_class=RecordClass.LAW_ENFORCEMENT,
        statement="Father keeps a rifle in a safe; code changed.",
        team_summary="Firearm at home, secured.",
    )
    for who, readable in (
        ("lead_ben", set()),
        ("member_gus", {RecordClass.COUNSELING}),
        ("officer_hal", {RecordClass.LAW_ENFORCEMENT}),
    ):
        view = view_as(app, world, who, seeded.north)
        assert {f.record_class for f in view.facts if f.readable} == readable, who
        assert all(f.team_summary for f in view.facts), who
        assert all(f.statement is None for f in view.facts if not f.readable), who
    # A lead cannot file a counseling fact; it may cite one by its summary, never without.
    with pytest.raises(ValidationFailed, match="discipline"):
        add_fact(app, world, seeded.north, record_class=RecordClass.COUNSELING)
    add_fact(
        app,
        world,
        seeded.north,
        "member_gus",
        source=FactSource.OBSERVATION,
        record_class=RecordClass.COUNSELING,
        statement="Private session notes, nothing shared.",
    )
    shown = view_as(app, world, "member_gus", seeded.north).facts
    summarised, private = (
        next(f.series_id for f in shown if f.record_class is RecordClass.COUNSELING and s(f))
        for s in (lambda f: f.team_summary, lambda f: not f.team_summary)
    )
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx,
            answers.answer_question(
                ctx, seeded.north, question_key="desperation", value="no", facts=[summarised]
            ),
        )
        with pytest.raises(ValidationFailed, match="summary"):
            answers.answer_question(
                ctx, seeded.north, question_key="desperation", value="no", facts=[private]
            )


def test_an_interview_names_its_interviewee_among_the_cases_people(
    app: Flask, world: World, seeded: Seeded
) -> None:
    with pytest.raises(ValidationFailed, match="interviewed"):
        add_fact(app, world, seeded.north, interviewee_party_id=999_999)
    with pytest.raises(ValidationFailed, match="Only an interview"):
        add_fact(app, world, seeded.north, source=FactSource.OBSERVATION, interviewee_party_id=1)
    with pytest.raises(ValidationFailed, match="corroborates"):
        add_fact(app, world, seeded.north, corroborated=True)
    with pytest.raises(ValidationFailed, match="future"):
        add_fact(app, world, seeded.north, learned_on=date.today() + timedelta(days=1))
    add_fact(app, world, seeded.north)
    (fact,) = view_as(app, world, "lead_ben", seeded.north).facts
    assert fact.interviewee == "Jordan Rivera (subject)"


def test_a_member_of_another_team_cannot_add_facts_or_answer(
    app: Flask, world: World, seeded: Seeded
) -> None:
    with pytest.raises(NotFound):
        add_fact(app, world, seeded.north, "outsider_dee", source=FactSource.OBSERVATION)
    with acting_as(app, world, "outsider_dee") as ctx, pytest.raises(NotFound):
        answers.answer_question(ctx, seeded.north, question_key="motives", value="yes")
    # A counselor with work on the case sees its header only, and cannot assess.
    with pytest.raises(AccessDenied):
        add_fact(app, world, seeded.north, "counselor_ana", source=FactSource.OBSERVATION)
    refused = audit_entries(app, AuditAction.ACCESS_RECORD_DENIED.value)
    assert {e.object_id for e in refused} >= {seeded.north}


# --------------------------------------------------------------------------- answers


def test_the_page_counts_questions_unanswered_or_answered_without_a_fact(
    app: Flask, world: World, seeded: Seeded
) -> None:
    model = catalog.load_catalog().get("default", 1)
    fact = add_fact(app, world, seeded.north)
    view = view_as(app, world, "lead_ben", seeded.north)
    assert (view.unanswered, view.without_fact) == (len(model.questions), 0)
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx,
            answers.answer_question(
                ctx, seeded.north, question_key="motives", value="yes", facts=[fact]
            ),
        )
        carry_out(
            ctx,
            answers.answer_question(ctx, seeded.north, question_key="planning", value="unknown"),
        )
        with pytest.raises(ValidationFailed, match="questions"):
            answers.answer_question(ctx, seeded.north, question_key="score", value="yes")
        ctx.db.rollback()
        with pytest.raises(ValidationFailed, match="yes, no or unknown"):
            answers.answer_question(ctx, seeded.north, question_key="motives", value="7")
        ctx.db.rollback()
        # A changed answer replaces the shown one; the earlier stays in the store.
        carry_out(
            ctx,
            answers.answer_question(
                ctx, seeded.north, question_key="motives", value="no", facts=[fact]
            ),
        )
    view = view_as(app, world, "lead_ben", seeded.north)
    assert (view.unanswered, view.without_fact) == (len(model.questions) - 2, 1)
    motives = next(q for q in view.questions if q.key == "motives")
    assert motives.answer is not None and (motives.answer.value, motives.answer.facts) == (
        "no",
        [fact],
    )


# --------------------------------------------------------------------------- notices


def test_a_substantive_determination_about_a_student_owes_the_superintendent_and_the_parents(
    app: Flask, world: World, seeded: Seeded
) -> None:
    record(app, world, seeded.north, [add_fact(app, world, seeded.north)])
    kinds = {o.kind for o in view_as(app, world, "lead_ben", seeded.north).outstanding}
    assert {"superintendent", "parent", "confirmation"} <= kinds
    with acting_as(app, world, "lead_ben") as ctx:
        with pytest.raises(ValidationFailed, match="reached"):
            notices.record_notice(
                ctx,
                seeded.north,
                kind=NoticeKind.PARENT,
                recipient="Mother",
                given_at=ctx.now,
                method=Method.PHONE,
            )
        ctx.db.rollback()
        for kind, reached in ((NoticeKind.SUPERINTENDENT, None), (NoticeKind.PARENT, False)):
            carry_out(
                ctx,
                notices.record_notice(
                    ctx,
                    seeded.north,
                    kind=kind,
                    recipient="Dr. Alvarez / the mother",
                    given_at=ctx.now,
                    method=Method.PHONE,
                    reached=reached,
                ),
            )
    kinds = {o.kind for o in view_as(app, world, "lead_ben", seeded.north).outstanding}
    assert kinds == {"confirmation"}


def test_a_duty_to_report_shows_until_the_report_to_the_authority_is_recorded(
    app: Flask, world: World, seeded: Seeded
) -> None:
    add_fact(
        app,
        world,
        seeded.north,
        source=FactSource.RECORD_REVIEW,
        statement="Bruises on both arms; the student says his uncle does it.",
        offence=Offence.CHILD_ABUSE,
    )
    outstanding = view_as(app, world, "lead_ben", seeded.north).outstanding
    assert [o.kind for o in outstanding] == ["child_protective_services"]
    with acting_as(app, world, "lead_ben") as ctx:
        # A report to law enforcement does not discharge a duty owed to child protection.
        carry_out(
            ctx,
            notices.record_notice(
                ctx,
                seeded.north,
                kind=NoticeKind.LAW_ENFORCEMENT,
                recipient="RPD",
                given_at=ctx.now,
                method=Method.PHONE,
                offence=Offence.CHILD_ABUSE,
            ),
        )
    assert view_as(app, world, "lead_ben", seeded.north).outstanding
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx,
            notices.record_notice(
                ctx,
                seeded.north,
                kind=NoticeKind.CHILD_PROTECTIVE_SERVICES,
                recipient="County CPS hotline, report 55-1021",
                given_at=ctx.now,
                method=Method.PHONE,
                offence=Offence.CHILD_ABUSE,
            ),
        )
    assert view_as(app, world, "lead_ben", seeded.north).outstanding == []


def test_a_closed_case_takes_no_assessment(app: Flask, world: World, seeded: Seeded) -> None:
    determination = record(app, world, seeded.north, [add_fact(app, world, seeded.north)])
    with acting_as(app, world, "lead_ben") as ctx:
        carry_out(
            ctx,
            items.set_status(
                ctx,
                seeded.north,
                seeded.assignment_id,
                status=ItemStatus.DISCONTINUED,
                reason="The student moved away.",
            ),
        )
        carry_out(
            ctx,
            closure.close_case(
                ctx, seeded.north, rationale="Moved away.", final_review="Left the district."
            ),
        )
    with pytest.raises(CaseClosed):
        add_fact(app, world, seeded.north)
    with pytest.raises(CaseClosed):
        confirm(app, world, "member_gus", seeded.north, determination)


# --------------------------------------------------------------------------- models


def test_a_broken_model_file_stops_the_start_naming_the_file_and_key(
    overrides: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "models"
    broken.mkdir()
    text = (catalog.MODELS_DIR / "default-v1.toml").read_text(encoding="utf-8")
    (broken / "default-v1.toml").write_text(
        text.replace('[[levels]]\nkey = "low"', '[[levels]]\nkey = "low"\nscore = 3', 1),
        encoding="utf-8",
    )
    monkeypatch.setattr(catalog, "MODELS_DIR", broken)
    with pytest.raises(ConfigError) as refused:
        create_app(overrides)
    message = str(refused.value)
    assert "\n" not in message
    assert "default-v1.toml" in message and "levels[0].score" in message


def test_opening_a_case_records_the_districts_model(
    app: Flask, world: World, seeded: Seeded
) -> None:
    with acting_as(app, world, "lead_ben") as ctx:
        loaded = load_case(ctx, seeded.north)
        assert (loaded.case.assessment_model, loaded.case.assessment_model_version) == (
            "default",
            1,
        )


def test_the_determinations_changes_are_in_the_trail_without_content(
    app: Flask, world: World, seeded: Seeded
) -> None:
    determination = record(app, world, seeded.north, [add_fact(app, world, seeded.north)])
    confirm(app, world, "member_gus", seeded.north, determination)
    (recorded,) = audit_entries(app, AuditAction.CASE_DETERMINATION_RECORDED.value)
    assert recorded.purpose == "v1 default-v1: substantive_serious, high, pending"
    assert recorded.object_id == str(determination)
    for entry in audit_entries(app, AuditAction.CASE_FACT_ADDED.value):
        assert "Jordan" not in (entry.purpose or "")


def test_the_dates_stay_in_utc(app: Flask, world: World, seeded: Seeded) -> None:
    record(app, world, seeded.north, [add_fact(app, world, seeded.north)])
    (d,) = view_as(app, world, "lead_ben", seeded.north).determinations
    assert d.recorded_at.tzinfo is not None and d.recorded_at.utcoffset() == timedelta(0)
    assert d.recorded_at <= datetime.now(UTC)


# --------------------------------------------------------------------------- the pages


def test_a_team_takes_a_case_to_a_confirmed_determination_on_the_case_page(
    app: Flask, world: World, seeded: Seeded
) -> None:
    lead = signed_in(app, world, "lead_ben")
    url = f"/cases/{seeded.north}"
    done = lead.submit(
        url,
        {
            "source": "observation",
            "learned_on": date.today().isoformat(),
            "statement": "The message was written in the B-wing restroom.",
            "record_class": "education",
        },
        action=f"{url}/facts",
        follow=True,
    )
    assert "Fact recorded." in done.get_data(as_text=True)
    fact = view_as(app, world, "lead_ben", seeded.north).facts[0].series_id
    answered = lead.submit(
        url,
        {"question": "communications", "value": "yes", "facts": str(fact)},
        action=f"{url}/answers",
        follow=True,
    )
    assert "Answer recorded." in answered.get_data(as_text=True)
    refused = lead.submit(
        url,
        {
            "classification": "substantive_serious",
            "level": "high",
            "rationale": "Specific words about a class.",
            "facts": str(fact),
            "participants": str(uid(world, "member_gus")),
        },
        action=f"{url}/determinations",
    )
    assert refused.status_code == 400
    assert "missing: Law enforcement." in refused.get_data(as_text=True)
    recorded = lead.submit(
        url,
        {
            "classification": "substantive_serious",
            "level": "high",
            "rationale": "Specific words about a class.",
            "facts": str(fact),
            "participants": [str(uid(world, "member_gus")), str(uid(world, "officer_hal"))],
        },
        action=f"{url}/determinations",
        follow=True,
    )
    assert "every participant confirms it" in recorded.get_data(as_text=True)
    determination = view_as(app, world, "lead_ben", seeded.north).determinations[0].id
    respond = f"{url}/determinations/{determination}/respond"
    for who in ("member_gus", "officer_hal"):
        browser = signed_in(app, world, who)
        home = browser.get("/dashboard").get_data(as_text=True)
        assert "Determinations to confirm" in home and seeded.north in home
        browser.submit(url, {"decision": "confirm"}, action=respond)
    text = lead.get(url).get_data(as_text=True)
    assert "Management" in text and "High" in text
    assert "Report to the superintendent or designee: not recorded yet." in text
    assert "Determination v1 confirmed" in text  # the timeline


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("statement", "A\x00B", "control characters"),
        ("statement", "x" * 20_001, "20000"),
        ("statement", "", "Say what was learned."),
        ("learned_on", "2026-02-30", "Not a valid date"),
        ("gathered_by", "²", "Invalid Choice"),
        ("interviewee", "99999999999", "Invalid Choice"),
        ("source", "astrology", "Not a valid choice"),
    ],
)
def test_hostile_input_on_the_fact_form_is_refused_and_nothing_is_stored(
    app: Flask, world: World, seeded: Seeded, field: str, value: str, message: str
) -> None:
    lead = signed_in(app, world, "lead_ben")
    url = f"/cases/{seeded.north}"
    form = {
        "source": "observation",
        "learned_on": date.today().isoformat(),
        "statement": "Seen at the gym door.",
        "record_class": "education",
    } | {field: value}
    response = lead.submit(url, form, action=f"{url}/facts")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.extensions["btam"].stores.case_sessions() as db:
        assert db.scalar(select(func.count(Fact.id))) == 0


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"question": "motives", "value": "maybe"}, "Not a valid choice"),
        ({"question": "not-a-question", "value": "yes"}, "Choose one of the model"),
        ({"question": "motives", "value": "yes", "note": "\x1b[31m"}, "control characters"),
        ({"question": "motives", "value": "yes", "facts": "999999"}, "not a valid choice"),
    ],
)
def test_hostile_input_on_the_answer_form_is_refused(
    app: Flask, world: World, seeded: Seeded, form: dict[str, str], message: str
) -> None:
    lead = signed_in(app, world, "lead_ben")
    url = f"/cases/{seeded.north}"
    response = lead.submit(url, form, action=f"{url}/answers")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert view_as(app, world, "lead_ben", seeded.north).unanswered == len(
        catalog.load_catalog().get("default", 1).questions
    )
