"""``/people/``: finding a person's earlier records, the person's record, and the record of
disclosures (``/people/disclosures`` for auditors)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.cases.forms import DisclosureForm, SearchForm
from btam.cases.services import people
from btam.cases.terms import DisclosureBasis
from btam.cases.views import person_data
from btam.errors import ValidationFailed
from btam.security.actor import Actor
from btam.security.decorators import requires
from btam.security.permissions import Permission


def make_blueprint() -> Blueprint:
    bp = Blueprint("people", __name__, url_prefix="/people")

    @bp.route("/search", methods=["GET", "POST"])
    @requires(Permission.PEOPLE_SEARCH)
    def search(actor: Actor) -> ResponseReturnValue:
        # POST, not GET: names and dates of birth never go into a URL or a server log.
        form = SearchForm()
        matches = None
        if form.validate_on_submit():
            try:
                matches = people.search_people(web.service_context(actor), person_data(form))
            except ValidationFailed as exc:
                web.form_error(form, exc)
        return render_template("people/search.html", form=form, matches=matches)

    @bp.get("/<int:person_id>")
    @requires(Permission.PEOPLE_VIEW)
    def show(actor: Actor, person_id: int) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        person = people.view_person(ctx, person_id)
        form = DisclosureForm()
        form.case_number.choices = [SelectChoice("", "(not tied to one case)")] + [
            SelectChoice(number, number) for number, _part, _status in person.cases
        ]
        return render_template(
            "people/person.html", person=person, form=form, outside_agency=actor.agency
        )

    @bp.post("/<int:person_id>/disclosures")
    @requires(Permission.PEOPLE_SEARCH)
    def record_disclosure(actor: Actor, person_id: int) -> ResponseReturnValue:
        ctx = web.service_context(actor)
        form = DisclosureForm()
        person = people.view_person(ctx, person_id)
        form.case_number.choices = [SelectChoice("", "(not tied to one case)")] + [
            SelectChoice(number, number) for number, _part, _status in person.cases
        ]
        if form.validate_on_submit():
            try:
                people.record_disclosure(
                    ctx,
                    person_id,
                    basis=DisclosureBasis(form.basis.data),
                    recipient=form.recipient.data or "",
                    interest=form.interest.data or "",
                    disclosed_at=_at_noon(form.disclosed_on.data, ctx.now),
                    case_number=form.case_number.data or None,
                )
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                flash("Disclosure recorded.", "success")
                return redirect(url_for("people.show", person_id=person_id, _anchor="disclosures"))
        return render_template(
            "people/person.html", person=person, form=form, outside_agency=actor.agency
        ), 400

    @bp.get("/disclosures")
    @requires(Permission.DISCLOSURES_REVIEW)
    def disclosures(actor: Actor) -> ResponseReturnValue:
        rows = people.list_disclosures(web.service_context(actor))
        return render_template("people/disclosures.html", disclosures=rows)

    return bp


def _at_noon(day: object, now: datetime) -> datetime:
    """A date typed in a form as a moment: today means now, an earlier day its noon UTC."""
    if day is None or not hasattr(day, "isoformat"):
        return now
    if day == now.date():
        return now
    return datetime.combine(day, time(12), tzinfo=UTC)  # type: ignore[arg-type]
