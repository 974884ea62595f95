"""The assessment's forms on the case page: facts, answers, determinations and their
confirmation, notices. Each refusal shows the case page again with the form and its errors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission
from btam.access.policy import Act
from btam.access.record_classes import RecordClass
from btam.assessment.forms import (
    AnswerForm,
    DeterminationForm,
    FactForm,
    NoticeForm,
    ResponseForm,
)
from btam.assessment.services import answers, determinations, facts, notices
from btam.assessment.services import view as assessment_view
from btam.assessment.services.facts import FactData
from btam.assessment.terms import FactSource, Method, NoticeKind, Offence
from btam.cases.case_page import fill_assessment_forms, render_case_page
from btam.cases.services import guard, page
from btam.context import ServiceContext

bp = Blueprint("assessment", __name__, url_prefix="/cases")


def _to(number: str, anchor: str) -> ResponseReturnValue:
    return redirect(url_for("cases.show", number=number, _anchor=anchor))


def _prepared(ctx: ServiceContext, number: str, **forms: Any) -> None:
    """Give the forms their choices, as the case page does, so a valid choice validates."""
    loaded = guard.load_case(ctx, number, Act.ASSESS)
    view = assessment_view.assessment_view(ctx, loaded)
    fill_assessment_forms(
        view,
        fact_form=forms.get("fact_form") or FactForm(formdata=None),
        determination_form=forms.get("determination_form") or DeterminationForm(formdata=None),
    )
    if "answer_form" in forms and view is not None:
        forms["answer_form"].facts.choices = [
            SelectChoice(f.series_id, f.label) for f in view.facts
        ]


def _fact_data(form: FactForm) -> FactData:
    return FactData(
        source=FactSource(form.source.data),
        learned_on=form.learned_on.data,
        statement=form.statement.data or "",
        record_class=RecordClass(form.record_class.data),
        gathered_by=form.gathered_by.data,
        interviewee_party_id=form.interviewee.data,
        corroborated=bool(form.corroborated.data),
        corroboration=form.corroboration.data or "",
        team_summary=form.team_summary.data or "",
        offence=Offence(form.offence.data) if form.offence.data else None,
    )


@bp.post("/<number>/facts")
@requires(Permission.CASES_WORK)
def add_fact(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = FactForm()
    _prepared(ctx, number, fact_form=form)
    done = web.submit(
        ctx,
        form,
        lambda: facts.add_fact(ctx, number, _fact_data(form)),
        done="Fact recorded.",
        then=lambda _: _to(number, "facts"),
    )
    return done or render_case_page(ctx, actor, number, fact_form=form, status=400)


@bp.route("/<number>/facts/<int:fact_id>/correct", methods=["GET", "POST"])
@requires(Permission.CASES_WORK)
def correct_fact(actor: Actor, number: str, fact_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    loaded = guard.load_case(ctx, number, Act.ASSESS)
    view = assessment_view.assessment_view(ctx, loaded)
    facts.check_correctable(ctx, loaded, fact_id)
    fact = next(f for f in view.facts if f.id == fact_id) if view else None
    form = FactForm(obj=None if web.is_post() else fact)
    fill_assessment_forms(view, fact_form=form, determination_form=DeterminationForm(formdata=None))
    if not web.is_post() and fact is not None:
        form.source.data = fact.source.value
        form.record_class.data = fact.record_class.value
        form.offence.data = fact.offence.value if fact.offence else ""
    done = web.submit(
        ctx,
        form,
        lambda: facts.correct_fact(ctx, number, fact_id, _fact_data(form)),
        done="A corrected version of the fact was recorded; the earlier one stays.",
        then=lambda _: _to(number, "facts"),
    )
    header = page.case_header(ctx, loaded.case)
    status = 400 if web.is_post() else 200
    return done or (
        render_template("assessment/correct_fact.html", form=form, fact=fact, header=header),
        status,
    )


@bp.post("/<number>/answers")
@requires(Permission.CASES_WORK)
def answer(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = AnswerForm()
    _prepared(ctx, number, answer_form=form)
    done = web.submit(
        ctx,
        form,
        lambda: answers.answer_question(
            ctx,
            number,
            question_key=form.question.data or "",
            value=form.value.data or "",
            note=form.note.data or "",
            facts=form.facts.data or [],
        ),
        done="Answer recorded.",
        then=lambda _: _to(number, f"q-{form.question.data}"),
    )
    return done or render_case_page(ctx, actor, number, answer_form=form, status=400)


@bp.post("/<number>/determinations")
@requires(Permission.CASES_WORK)
def record_determination(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = DeterminationForm()
    _prepared(ctx, number, determination_form=form)
    done = web.submit(
        ctx,
        form,
        lambda: determinations.record_determination(
            ctx,
            number,
            determinations.DeterminationData(
                classification=form.classification.data or "",
                level=form.level.data or "",
                rationale=form.rationale.data or "",
                facts=form.facts.data or [],
                participants=form.participants.data or [],
                knows_subject=form.knows_subject.data or [],
                offence=Offence(form.offence.data) if form.offence.data else None,
            ),
        ),
        done="Determination recorded. It changes the case once every participant confirms it.",
        then=lambda _: _to(number, "determinations"),
    )
    return done or render_case_page(ctx, actor, number, determination_form=form, status=400)


@bp.post("/<number>/determinations/<int:determination_id>/respond")
@requires(Permission.CASES_VIEW)
def respond(actor: Actor, number: str, determination_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.VIEW_CASE)
    form = ResponseForm()
    done = web.submit(
        ctx,
        form,
        lambda: determinations.respond(
            ctx,
            number,
            determination_id,
            confirm=form.decision.data == "confirm",
            objection=form.objection.data or "",
        ),
        then=lambda status: _responded(number, status.label),
    )
    return done or render_case_page(ctx, actor, number, response_form=form, status=400)


def _responded(number: str, status_label: str) -> ResponseReturnValue:
    flash(f"Your answer is recorded. The determination is {status_label.lower()}.", "success")
    return _to(number, "determinations")


@bp.post("/<number>/notices")
@requires(Permission.CASES_WORK)
def record_notice(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.ASSESS)
    form = NoticeForm()
    done = web.submit(
        ctx,
        form,
        lambda: notices.record_notice(
            ctx,
            number,
            kind=NoticeKind(form.kind.data),
            recipient=form.recipient.data or "",
            given_at=web.typed_moment(form.given_on.data, form.given_at.data, ctx.now),
            method=Method(form.method.data),
            reached={"yes": True, "no": False}.get(form.reached.data or ""),
            note=form.note.data or "",
            offence=Offence(form.offence.data) if form.offence.data else None,
        ),
        done="Notice recorded.",
        then=lambda _: _to(number, "notices"),
    )
    return done or render_case_page(ctx, actor, number, notice_form=form, status=400)
