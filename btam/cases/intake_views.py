"""``/reports/``: every signed-in user reports a concern and follows its status."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.cases.intake_forms import ACTION_FIELDS, ReportForm
from btam.cases.services import intake
from btam.cases.services.intake import PersonEntry, ReportData, Upload
from btam.cases.services.people import PersonData
from btam.cases.terms import Channel, Part, PersonKind
from btam.errors import ValidationFailed
from btam.security.actor import Actor
from btam.security.decorators import requires
from btam.security.permissions import Permission


def upload_of(field: object) -> Upload | None:
    """The uploaded file of a FileField, read up to one byte over the limit."""
    from btam.cases.services.cases import ATTACHMENT_MAX_BYTES

    storage = getattr(field, "data", None)
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return Upload(
        filename=storage.filename or "",
        content_type=(storage.mimetype or "").lower(),
        data=storage.read(ATTACHMENT_MAX_BYTES + 1),
    )


def _people(form: ReportForm) -> list[PersonEntry]:
    entries = []
    for entry in form.people.entries:
        sub = entry.form
        named = (sub.given_name.data or "").strip() or (sub.family_name.data or "").strip()
        if not named and not (sub.student_number.data or "").strip():
            continue
        entries.append(
            PersonEntry(
                part=Part(sub.part.data),
                person=PersonData(
                    kind=PersonKind(sub.kind.data),
                    given_name=sub.given_name.data or "",
                    family_name=sub.family_name.data or "",
                    date_of_birth=sub.date_of_birth.data,
                    student_number=sub.student_number.data or "",
                ),
            )
        )
    return entries


def make_blueprint() -> Blueprint:
    bp = Blueprint("intake", __name__, url_prefix="/reports")

    @bp.route("/new", methods=["GET", "POST"])
    @requires(Permission.REPORTS_SUBMIT)
    def new(actor: Actor) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        form = ReportForm()
        form.school_id.choices = [SelectChoice(s.id, s.name) for s in intake.schools(ctx)]
        if form.validate_on_submit():
            # Unnamed, the actions were the reporter's, who may have asked not to be named.
            by_default = "The reporter" if form.confidential.data else actor.display_name
            actions = [
                (action, form.actions_by.data or by_default, ctx.now)
                for name, action in ACTION_FIELDS.items()
                if getattr(form, name).data
            ]
            try:
                submitted = intake.submit_report(
                    ctx,
                    ReportData(
                        school_id=form.school_id.data,
                        channel=Channel(form.channel.data),
                        occurred=form.occurred.data or "",
                        location=form.location.data or "",
                        narrative=form.narrative.data or "",
                        people=_people(form),
                        attachment=upload_of(form.file),
                        confidential=bool(form.confidential.data),
                        imminent=bool(form.imminent.data),
                        actions=actions,
                    ),
                )
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                return render_template("intake/submitted.html", submitted=submitted)
        status = 400 if web.is_post() else 200
        return render_template("intake/new.html", form=form), status

    @bp.get("/mine")
    @requires(Permission.REPORTS_SUBMIT)
    def mine(actor: Actor) -> ResponseReturnValue:
        return render_template(
            "intake/mine.html", reports=intake.my_reports(web.service_context(actor))
        )

    @bp.get("/")
    @requires(Permission.REPORTS_SUBMIT)
    def index(actor: Actor) -> ResponseReturnValue:
        return redirect(url_for("intake.mine"))

    return bp
