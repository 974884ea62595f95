"""``/cases/``: the team's case list, the case page and the work done on it."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.cases.forms import (
    AssignmentForm,
    AttachmentForm,
    EmergencyForm,
    MemberForm,
    NoteForm,
    OpenCaseForm,
    PartyForm,
    PersonFields,
    RemoveMemberForm,
    SummaryForm,
)
from btam.cases.services import cases, emergency
from btam.cases.services.people import PersonData
from btam.cases.terms import Part, PersonKind, RecordClass
from btam.errors import ValidationFailed
from btam.security.actor import Actor
from btam.security.decorators import requires
from btam.security.permissions import Permission
from btam.security.policy import Act
from btam.services import ServiceContext


def person_data(form: PersonFields) -> PersonData:
    person_id = (form.person_id.data or "").strip()
    return PersonData(
        kind=PersonKind(form.kind.data),
        given_name=form.given_name.data or "",
        family_name=form.family_name.data or "",
        date_of_birth=form.date_of_birth.data,
        student_number=form.student_number.data or "",
        person_id=int(person_id) if person_id.isdigit() else None,
    )


def make_blueprint() -> Blueprint:
    bp = Blueprint("cases", __name__, url_prefix="/cases")

    def case_page(
        ctx: ServiceContext, actor: Actor, number: str, *, status: int = 200, **forms: Any
    ) -> ResponseReturnValue:
        view = cases.view_case(ctx, number)
        workers = [SelectChoice(i, n) for i, n in cases.assignable_users(ctx)]
        member_form = forms.get("member_form") or MemberForm()
        member_form.user_id.choices = workers
        assignment_form = forms.get("assignment_form") or AssignmentForm()
        assignment_form.user_id.choices = workers
        note_form = forms.get("note_form") or NoteForm()
        return render_template(
            "cases/case.html",
            case=view,
            summary_form=forms.get("summary_form") or SummaryForm(summary=view.summary),
            note_form=note_form,
            attachment_form=forms.get("attachment_form") or AttachmentForm(),
            party_form=forms.get("party_form") or PartyForm(),
            member_form=member_form,
            assignment_form=assignment_form,
            remove_form=RemoveMemberForm(),
            outside_agency=actor.agency,
        ), status

    @bp.get("/")
    @requires(Permission.CASES_VIEW)
    def index(actor: Actor) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        return render_template(
            "cases/index.html",
            cases=cases.list_cases(ctx),
            can_open=bool(cases.openable_teams(ctx)),
        )

    @bp.route("/new", methods=["GET", "POST"])
    @requires(Permission.CASES_OPEN)
    def new(actor: Actor) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        form = OpenCaseForm()
        choices = cases.openable_teams(ctx)
        form.team_school.choices = [SelectChoice(f"{t}:{s}", label) for t, s, label in choices]
        if form.validate_on_submit():
            team_id, school_id = (int(x) for x in form.team_school.data.split(":"))
            try:
                opened = cases.open_case(
                    ctx,
                    school_id=school_id,
                    team_id=team_id,
                    summary=form.summary.data or "",
                    subject=person_data(form),
                )
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                flash(f"Case {opened.number} opened.", "success")
                return redirect(url_for("cases.show", number=opened.number))
        return render_template("cases/new.html", form=form, has_teams=bool(choices))

    @bp.get("/<number>")
    @requires(Permission.CASES_VIEW)
    def show(actor: Actor, number: str) -> ResponseReturnValue:
        return case_page(web.service_context(actor), actor, number)

    @bp.post("/<number>/summary")
    @requires(Permission.CASES_WORK)
    def summary(actor: Actor, number: str) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        cases.authorize(ctx, number, Act.EDIT_CASE)
        form = SummaryForm()
        if form.validate_on_submit():
            try:
                cases.update_summary(ctx, number, summary=form.summary.data or "")
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                flash("Summary saved.", "success")
                return redirect(url_for("cases.show", number=number))
        return case_page(ctx, actor, number, summary_form=form, status=400)

    @bp.post("/<number>/notes")
    @requires(Permission.CASES_WORK)
    def add_note(actor: Actor, number: str) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        cases.authorize(ctx, number, Act.EDIT_CASE)
        form = NoteForm()
        if form.validate_on_submit():
            try:
                cases.add_note(
                    ctx,
                    number,
                    record_class=RecordClass(form.record_class.data),
                    body=form.body.data or "",
                    team_summary=form.team_summary.data,
                )
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                flash("Note added.", "success")
                return redirect(url_for("cases.show", number=number, _anchor="notes"))
        return case_page(ctx, actor, number, note_form=form, status=400)

    @bp.post("/<number>/attachments")
    @requires(Permission.CASES_WORK)
    def add_attachment(actor: Actor, number: str) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        cases.authorize(ctx, number, Act.EDIT_CASE)
        form = AttachmentForm()
        if form.validate_on_submit():
            upload = form.file.data
            try:
                cases.add_attachment(
                    ctx,
                    number,
                    record_class=RecordClass(form.record_class.data),
                    filename=upload.filename or "",
                    content_type=(upload.mimetype or "").lower(),
                    data=upload.read(cases.ATTACHMENT_MAX_BYTES + 1),
                )
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                flash("File attached.", "success")
                return redirect(url_for("cases.show", number=number, _anchor="attachments"))
        return case_page(ctx, actor, number, attachment_form=form, status=400)

    @bp.get("/<number>/attachments/<int:attachment_id>")
    @requires(Permission.CASES_VIEW)
    def attachment(actor: Actor, number: str, attachment_id: int) -> ResponseReturnValue:
        found = cases.download_attachment(web.service_context(actor), number, attachment_id)
        return web.file_download(
            found.data, content_type=found.content_type, filename=found.filename
        )

    @bp.post("/<number>/parties")
    @requires(Permission.CASES_WORK)
    def add_party(actor: Actor, number: str) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        cases.authorize(ctx, number, Act.EDIT_CASE)
        form = PartyForm()
        if form.validate_on_submit():
            try:
                cases.add_party(ctx, number, part=Part(form.part.data), person=person_data(form))
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                flash("Person added to the case.", "success")
                return redirect(url_for("cases.show", number=number, _anchor="people"))
        return case_page(ctx, actor, number, party_form=form, status=400)

    @bp.post("/<number>/members")
    @requires(Permission.CASES_WORK)
    def add_member(actor: Actor, number: str) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        cases.authorize(ctx, number, Act.MANAGE_CASE)
        form = MemberForm()
        form.user_id.choices = [SelectChoice(i, n) for i, n in cases.assignable_users(ctx)]
        if form.validate_on_submit():
            try:
                cases.add_member(ctx, number, user_id=form.user_id.data)
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                flash("Member added.", "success")
                return redirect(url_for("cases.show", number=number, _anchor="members"))
        return case_page(ctx, actor, number, member_form=form, status=400)

    @bp.post("/<number>/members/remove")
    @requires(Permission.CASES_WORK)
    def remove_member(actor: Actor, number: str) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        cases.authorize(ctx, number, Act.MANAGE_CASE)
        form = RemoveMemberForm()
        if form.validate_on_submit():
            cases.remove_member(ctx, number, user_id=form.user_id.data or 0)
            flash("Member removed from the case.", "success")
            return redirect(url_for("cases.show", number=number, _anchor="members"))
        return case_page(ctx, actor, number, status=400)

    @bp.post("/<number>/assignments")
    @requires(Permission.CASES_WORK)
    def assign(actor: Actor, number: str) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        cases.authorize(ctx, number, Act.ASSIGN_WORK)
        form = AssignmentForm()
        form.user_id.choices = [SelectChoice(i, n) for i, n in cases.assignable_users(ctx)]
        if form.validate_on_submit():
            try:
                cases.assign_work(
                    ctx,
                    number,
                    user_id=form.user_id.data,
                    task=form.task.data or "",
                    due_on=form.due_on.data,
                )
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                flash("Work assigned.", "success")
                return redirect(url_for("cases.show", number=number, _anchor="assignments"))
        return case_page(ctx, actor, number, assignment_form=form, status=400)

    @bp.post("/<number>/assignments/<int:assignment_id>/done")
    @requires(Permission.CASES_WORK)
    def assignment_done(actor: Actor, number: str, assignment_id: int) -> ResponseReturnValue:
        # The CSRF token was checked for every POST before the view ran.
        try:
            cases.complete_assignment(web.service_context(actor), number, assignment_id)
        except ValidationFailed as exc:
            flash(str(exc), "error")
        else:
            flash("Marked done.", "success")
        return redirect(url_for("cases.show", number=number, _anchor="assignments"))

    @bp.route("/emergency-access", methods=["GET", "POST"])
    @requires(Permission.EMERGENCY_REQUEST)
    def emergency_access(actor: Actor) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        form = EmergencyForm()
        if not web.is_post() and request.args.get("number"):
            form.number.data = request.args["number"][:16]
        if form.validate_on_submit():
            try:
                granted = emergency.request_grant(
                    ctx,
                    number=form.number.data or "",
                    threat=form.threat.data or "",
                    parties=form.parties.data or "",
                )
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                until = granted.expires_at.astimezone(UTC).strftime("%H:%M UTC")
                flash(
                    f"Emergency access to case {granted.number} until {until}. The grant is "
                    "recorded as a disclosure and will be reviewed by the auditors.",
                    "warning",
                )
                return redirect(url_for("cases.show", number=granted.number))
        hours = web.runtime().settings.access_emergency_grant_hours
        return render_template("cases/emergency.html", form=form, hours=hours)

    @bp.post("/<number>/grants/<int:grant_id>/end")
    @requires(Permission.EMERGENCY_REQUEST)
    def end_grant(actor: Actor, number: str, grant_id: int) -> ResponseReturnValue:
        try:
            emergency.end_grant(web.service_context(actor), number, grant_id)
        except ValidationFailed as exc:
            flash(str(exc), "error")
        else:
            flash("Emergency access ended.", "success")
        return redirect(url_for("cases.index"))

    return bp
