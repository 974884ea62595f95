"""The case page, put together from every stage that adds to a case: the core records, the
assessment, and one timeline of them all. Each stage's pages render it (with their own form
shown again after a refusal), so none of them needs another's views."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam.access.actor import Actor
from btam.assessment import dto as assessment_dto
from btam.assessment.forms import (
    DeterminationForm,
    FactForm,
    NoticeForm,
    ResponseForm,
)
from btam.assessment.services import view as assessment_view
from btam.cases.forms import (
    AttachmentForm,
    MemberForm,
    NoteForm,
    PartyForm,
    RemoveMemberForm,
    StatusForm,
    SummaryForm,
)
from btam.cases.services import page, team
from btam.context import ServiceContext
from btam.meetings.services import view as meetings_view
from btam.plans import plan_page, referral_page
from btam.plans.services import view as plans_view


def fill_assessment_forms(
    view: assessment_dto.AssessmentView | None,
    *,
    fact_form: FactForm,
    determination_form: DeterminationForm,
) -> None:
    """Give the assessment's forms the choices of this case (people, facts, the model's)."""
    if view is None:
        return
    workers = [SelectChoice("", "—")] + [SelectChoice(c.user_id, c.name) for c in view.candidates]
    fact_form.gathered_by.choices = workers
    fact_form.interviewee.choices = [SelectChoice("", "—")] + [
        SelectChoice(int(p.value), p.label) for p in view.parties
    ]
    determination_form.facts.choices = [SelectChoice(f.series_id, f.label) for f in view.facts]
    determination_form.classification.choices = [
        SelectChoice(c.value, c.label) for c in view.classifications
    ]
    determination_form.level.choices = [SelectChoice(c.value, c.label) for c in view.levels]
    people = [SelectChoice(c.user_id, f"{c.name} ({c.discipline})") for c in view.candidates]
    determination_form.participants.choices = people
    determination_form.knows_subject.choices = people


def render_case_page(
    ctx: ServiceContext, actor: Actor, number: str, *, status: int = 200, **forms: Any
) -> ResponseReturnValue:
    """The case page, with the forms given (shown again with their errors) or fresh ones.

    :raises NotFound: the case lies outside the actor's view (recorded).
    """
    loaded = page.visit(ctx, number)
    view = page.case_view(ctx, loaded)
    assessment = assessment_view.assessment_view(ctx, loaded)
    plan = plan_page.plan_section(ctx, loaded, **forms)
    referrals = referral_page.referral_part(ctx, loaded, **forms)
    timeline = sorted(
        [
            *page.timeline(ctx, loaded, view),
            *assessment_view.timeline(assessment),
            *plans_view.timeline(plan["view"], referrals.section if referrals else None),
            *meetings_view.case_timeline(ctx, loaded),
        ],
        key=lambda item: item.at,
    )
    workers = [SelectChoice(i, n) for i, n in team.assignable_users(ctx, loaded.case)]
    member_form = forms.get("member_form") or MemberForm()
    member_form.user_id.choices = workers
    status_form = forms.get("status_form") or StatusForm()
    status_form.move.choices = [SelectChoice(t.value, t.label) for t in view.transitions]
    fact_form = forms.get("fact_form") or FactForm()
    determination_form = forms.get("determination_form") or DeterminationForm()
    fill_assessment_forms(assessment, fact_form=fact_form, determination_form=determination_form)
    answer_form = forms.get("answer_form")
    readable: list[SelectChoice] = []
    if assessment is not None:
        readable = [SelectChoice(f.series_id, f.label) for f in assessment.facts]
        if answer_form is not None:
            answer_form.facts.choices = readable
    return render_template(
        "cases/case.html",
        case=view,
        assessment=assessment,
        timeline=timeline,
        summary_form=forms.get("summary_form") or SummaryForm(summary=view.summary),
        note_form=forms.get("note_form") or NoteForm(),
        attachment_form=forms.get("attachment_form") or AttachmentForm(),
        party_form=forms.get("party_form") or PartyForm(),
        member_form=member_form,
        plan=plan,
        status_form=status_form,
        remove_form=RemoveMemberForm(),
        fact_form=fact_form,
        determination_form=determination_form,
        answer_form=answer_form,
        fact_choices=[(c.value, c.label) for c in readable] if assessment is not None else [],
        response_form=forms.get("response_form") or ResponseForm(),
        notice_form=forms.get("notice_form") or NoticeForm(),
        outside_agency=actor.agency,
        referrals=referrals,
    ), status
