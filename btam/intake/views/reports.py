"""``/reports/``: every signed-in user reports a concern and follows its status."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission
from btam.intake.forms import ACTION_FIELDS, ReportForm
from btam.intake.services import reports
from btam.intake.services.reports import PersonEntry, ReportData
from btam.intake.terms import Channel
from btam.people.services.matching import PersonData
from btam.people.terms import Part, PersonKind

bp = Blueprint("intake", __name__, url_prefix="/reports")


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


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.REPORTS_SUBMIT)
def new(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = ReportForm()
    form.school_id.choices = [SelectChoice(s.id, s.name) for s in reports.schools(ctx)]

    def submit_it() -> Any:
        # Unnamed, the actions were the reporter's, who may have asked not to be named.
        by_default = "The reporter" if form.confidential.data else actor.display_name
        actions = [
            (action, form.actions_by.data or by_default, ctx.now)
            for name, action in ACTION_FIELDS.items()
            if getattr(form, name).data
        ]
        return reports.submit_report(
            ctx,
            ReportData(
                school_id=form.school_id.data,
                channel=Channel(form.channel.data),
                occurred=form.occurred.data or "",
                location=form.location.data or "",
                narrative=form.narrative.data or "",
                people=_people(form),
                attachment=web.upload_of(form.file),
                confidential=bool(form.confidential.data),
                imminent=bool(form.imminent.data),
                actions=actions,
            ),
        )

    done = web.submit(
        ctx,
        form,
        submit_it,
        then=lambda submitted: render_template("intake/submitted.html", submitted=submitted),
    )
    status = 400 if web.is_post() else 200
    return done or (render_template("intake/new.html", form=form), status)


@bp.get("/mine")
@requires(Permission.REPORTS_SUBMIT)
def mine(actor: Actor) -> ResponseReturnValue:
    return render_template(
        "intake/mine.html", reports=reports.my_reports(web.service_context(actor))
    )


@bp.get("/")
@requires(Permission.REPORTS_SUBMIT)
def index(actor: Actor) -> ResponseReturnValue:
    return redirect(url_for("intake.mine"))
