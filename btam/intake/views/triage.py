"""``/triage/``: the team's queue of reports and tips, and the triage of each."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission
from btam.context import ServiceContext, Staged
from btam.errors import ValidationFailed
from btam.ids import parse_id
from btam.intake.forms import ActionForm, LinkPersonForm, MessageForm, TriageForm
from btam.intake.services import tips, triage
from btam.intake.services.triage import SCREENING, Decision
from btam.intake.terms import ImmediateAction, NoThreatAction, TriageOutcome
from btam.people.services.matching import PersonData
from btam.people.terms import Part, PersonKind

bp = Blueprint("triage", __name__, url_prefix="/triage")
TRI = {"yes": True, "no": False}


def _tri_state(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def report_page(
    ctx: ServiceContext,
    report_id: int,
    *,
    status: int = 200,
    triage_form: TriageForm | None = None,
    action_form: ActionForm | None = None,
    message_form: MessageForm | None = None,
) -> ResponseReturnValue:
    """The report's page, with the forms given (shown again with their errors) or fresh ones."""
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
        actions.taken_at.data = f"{ctx.now.astimezone(web.district_zone()):%Y-%m-%d %H:%M}"
    return render_template(
        "intake/triage_report.html",
        report=view,
        form=form,
        action_form=actions,
        message_form=message_form or MessageForm(),
        needs_subject=not any(p.part is Part.SUBJECT for p in view.people)
        and not any(m.part is Part.SUBJECT for m in view.mentions),
    ), status


def _to_report(report_id: int, anchor: str | None = None) -> str:
    return url_for("triage.report", report_id=report_id, _anchor=anchor)


@bp.get("/")
@requires(Permission.TRIAGE_WORK)
def queue(actor: Actor) -> ResponseReturnValue:
    number = parse_id(request.args.get("page", "1"))
    if number is None:
        abort(400)
    return render_template(
        "intake/triage_queue.html", queue=triage.queue(web.service_context(actor), page=number)
    )


@bp.get("/<int:report_id>")
@requires(Permission.TRIAGE_WORK)
def report(actor: Actor, report_id: int) -> ResponseReturnValue:
    return report_page(web.service_context(actor), report_id)


@bp.post("/<int:report_id>/acknowledge")
@requires(Permission.TRIAGE_WORK)
def acknowledge(actor: Actor, report_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    return web.press(
        ctx,
        lambda: triage.acknowledge(ctx, report_id),
        done="Alert acknowledged for the team.",
        to=_to_report(report_id),
    )


@bp.post("/<int:report_id>/actions")
@requires(Permission.TRIAGE_WORK)
def record_action(actor: Actor, report_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = ActionForm()

    def record() -> Staged[None]:
        try:
            at = datetime.strptime(form.taken_at.data or "", "%Y-%m-%d %H:%M")
        except ValueError:
            raise ValidationFailed(
                "Write the time as YYYY-MM-DD HH:MM.", field="taken_at"
            ) from None
        return triage.record_action(
            ctx,
            report_id,
            action=ImmediateAction(form.action.data),
            taken_by=form.taken_by.data or "",
            taken_at=at.replace(tzinfo=web.district_zone()).astimezone(UTC),
        )

    done = web.submit(
        ctx, form, record, done="Action recorded.", then=lambda _: redirect(_to_report(report_id))
    )
    return done or report_page(ctx, report_id, status=400, action_form=form)


@bp.post("/<int:report_id>/people/<int:mention_id>")
@requires(Permission.TRIAGE_WORK)
def link_person(actor: Actor, report_id: int, mention_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = LinkPersonForm()

    def link() -> Staged[None]:
        choice = (form.person.data or "").strip()
        person_id = None if choice == "new" else parse_id(choice)
        if choice != "new" and person_id is None:
            raise ValidationFailed("Choose one of the people shown, or a new person.")
        return triage.link_mention(ctx, report_id, mention_id, person_id=person_id)

    done = web.submit(
        ctx,
        form,
        link,
        done="Person linked to the report.",
        then=lambda _: redirect(_to_report(report_id, "people")),
    )
    return done or report_page(ctx, report_id, status=400)


def _decision(form: TriageForm) -> Decision:
    subject = None
    if (form.subject_family_name.data or form.subject_given_name.data or "").strip():
        subject = PersonData(
            kind=PersonKind(form.subject_kind.data),
            given_name=form.subject_given_name.data or "",
            family_name=form.subject_family_name.data or "",
        )
    return Decision(
        outcome=TriageOutcome(form.outcome.data),
        screening={name: TRI.get(getattr(form, name).data) for name, _q in SCREENING},
        reason=form.reason.data or "",
        no_threat_action=(
            NoThreatAction(form.no_threat_action.data) if form.no_threat_action.data else None
        ),
        team_id=form.team_id.data,
        summary=form.summary.data or "",
        subject=subject,
        case_number=form.case_number.data or "",
    )


@bp.post("/<int:report_id>/decide")
@requires(Permission.TRIAGE_WORK)
def decide(actor: Actor, report_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = TriageForm()
    form.team_id.choices = [
        SelectChoice(i, n) for i, n in triage.openable_teams_for(ctx, report_id)
    ]

    def decided(number: str | None) -> ResponseReturnValue:
        flash(f"Triaged: {TriageOutcome(form.outcome.data).label}.", "success")
        return redirect(url_for("cases.show", number=number) if number else url_for("triage.queue"))

    done = web.submit(
        ctx, form, lambda: triage.decide(ctx, report_id, _decision(form)), then=decided
    )
    return done or report_page(ctx, report_id, status=400, triage_form=form)


@bp.post("/<int:report_id>/messages")
@requires(Permission.TRIAGE_WORK)
def message(actor: Actor, report_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = MessageForm()
    done = web.submit(
        ctx,
        form,
        lambda: tips.team_message(ctx, report_id, form.body.data or ""),
        done="Message sent; the tipster reads it with the follow-up code.",
        then=lambda _: redirect(_to_report(report_id, "messages")),
    )
    return done or report_page(ctx, report_id, status=400, message_form=form)


@bp.get("/<int:report_id>/files/<int:attachment_id>")
@requires(Permission.TRIAGE_WORK)
def file(actor: Actor, report_id: int, attachment_id: int) -> ResponseReturnValue:
    found = triage.download(web.service_context(actor), report_id, attachment_id)
    return web.file_download(found.data, content_type=found.content_type, filename=found.filename)
