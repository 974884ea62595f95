"""``/triage/``: the team's queue of reports and tips, and the triage of each."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.cases.intake_forms import ActionForm, MessageForm, TriageForm
from btam.cases.services import intake, triage
from btam.cases.services.people import PersonData
from btam.cases.services.triage import SCREENING, Decision
from btam.cases.terms import ImmediateAction, NoThreatAction, PersonKind, TriageOutcome
from btam.errors import ValidationFailed
from btam.security.actor import Actor
from btam.security.decorators import requires
from btam.security.permissions import Permission
from btam.services import ServiceContext

TRI = {"yes": True, "no": False}


def _tri_state(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def make_blueprint() -> Blueprint:
    bp = Blueprint("triage", __name__, url_prefix="/triage")

    def report_page(
        ctx: ServiceContext,
        report_id: int,
        *,
        status: int = 200,
        triage_form: TriageForm | None = None,
        action_form: ActionForm | None = None,
        message_form: MessageForm | None = None,
    ) -> ResponseReturnValue:
        view = triage.view_report(ctx, report_id)
        form = triage_form or TriageForm()
        if triage_form is None:
            for name, _q in SCREENING:
                getattr(form, name).data = _tri_state(view.screening.get(name))
            form.summary.data = view.narrative
        form.team_id.choices = [
            SelectChoice(i, n) for i, n in triage.openable_teams_for(ctx, report_id)
        ]
        actions = action_form or ActionForm()
        if action_form is None:
            actions.taken_at.data = ctx.now.strftime("%Y-%m-%d %H:%M")
        return render_template(
            "triage/report.html",
            report=view,
            form=form,
            action_form=actions,
            message_form=message_form or MessageForm(),
            needs_subject=not any(p.part.value == "subject" for p in view.people),
        ), status

    @bp.get("/")
    @requires(Permission.TRIAGE_WORK)
    def queue(actor: Actor) -> ResponseReturnValue:
        return render_template("triage/queue.html", items=triage.queue(web.service_context(actor)))

    @bp.get("/<int:report_id>")
    @requires(Permission.TRIAGE_WORK)
    def report(actor: Actor, report_id: int) -> ResponseReturnValue:
        return report_page(web.service_context(actor), report_id)

    @bp.post("/<int:report_id>/acknowledge")
    @requires(Permission.TRIAGE_WORK)
    def acknowledge(actor: Actor, report_id: int) -> ResponseReturnValue:
        try:
            triage.acknowledge(web.service_context(actor), report_id)
        except ValidationFailed as exc:
            flash(str(exc), "error")
        else:
            flash("Alert acknowledged for the team.", "success")
        return redirect(url_for("triage.report", report_id=report_id))

    @bp.post("/<int:report_id>/actions")
    @requires(Permission.TRIAGE_WORK)
    def record_action(actor: Actor, report_id: int) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        form = ActionForm()
        if form.validate_on_submit():
            try:
                at = datetime.strptime(form.taken_at.data or "", "%Y-%m-%d %H:%M")
            except ValueError:
                form.taken_at.errors = ["Write the time as YYYY-MM-DD HH:MM."]
            else:
                try:
                    triage.record_action(
                        ctx,
                        report_id,
                        action=ImmediateAction(form.action.data),
                        taken_by=form.taken_by.data or "",
                        taken_at=at.replace(tzinfo=UTC),
                    )
                except ValidationFailed as exc:
                    web.form_error(form, exc)
                else:
                    flash("Action recorded.", "success")
                    return redirect(url_for("triage.report", report_id=report_id))
        return report_page(ctx, report_id, status=400, action_form=form)

    @bp.post("/<int:report_id>/decide")
    @requires(Permission.TRIAGE_WORK)
    def decide(actor: Actor, report_id: int) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        form = TriageForm()
        form.team_id.choices = [
            SelectChoice(i, n) for i, n in triage.openable_teams_for(ctx, report_id)
        ]
        if form.validate_on_submit():
            subject = None
            if (form.subject_family_name.data or form.subject_given_name.data or "").strip():
                subject = PersonData(
                    kind=PersonKind(form.subject_kind.data),
                    given_name=form.subject_given_name.data or "",
                    family_name=form.subject_family_name.data or "",
                )
            decision = Decision(
                outcome=TriageOutcome(form.outcome.data),
                screening={name: TRI.get(getattr(form, name).data) for name, _q in SCREENING},
                reason=form.reason.data or "",
                no_threat_action=(
                    NoThreatAction(form.no_threat_action.data)
                    if form.no_threat_action.data
                    else None
                ),
                team_id=form.team_id.data,
                summary=form.summary.data or "",
                subject=subject,
                case_number=form.case_number.data or "",
            )
            try:
                number = triage.decide(ctx, report_id, decision)
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                flash(f"Triaged: {decision.outcome.label}.", "success")
                if number:
                    return redirect(url_for("cases.show", number=number))
                return redirect(url_for("triage.queue"))
        return report_page(ctx, report_id, status=400, triage_form=form)

    @bp.post("/<int:report_id>/messages")
    @requires(Permission.TRIAGE_WORK)
    def message(actor: Actor, report_id: int) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        form = MessageForm()
        if form.validate_on_submit():
            try:
                intake.team_message(ctx, report_id, form.body.data or "")
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                flash("Message sent; the tipster reads it with the follow-up code.", "success")
                return redirect(url_for("triage.report", report_id=report_id, _anchor="messages"))
        return report_page(ctx, report_id, status=400, message_form=form)

    @bp.get("/<int:report_id>/files/<int:attachment_id>")
    @requires(Permission.TRIAGE_WORK)
    def file(actor: Actor, report_id: int, attachment_id: int) -> ResponseReturnValue:
        found = triage.download(web.service_context(actor), report_id, attachment_id)
        return web.file_download(
            found.data, content_type=found.content_type, filename=found.filename
        )

    return bp
