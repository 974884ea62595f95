"""``/people/``: finding a person's earlier records, the person's record, and the record of
disclosures (``/people/disclosures`` for auditors)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission
from btam.context import Staged
from btam.errors import ValidationFailed
from btam.ids import parse_id
from btam.people.dto import PersonView
from btam.people.forms import DisclosureForm, MergeForm, SearchForm, person_data
from btam.people.services import disclosures, merging, records
from btam.people.terms import DisclosureBasis

bp = Blueprint("people", __name__, url_prefix="/people")


@bp.route("/search", methods=["GET", "POST"])
@requires(Permission.PEOPLE_SEARCH)
def search(actor: Actor) -> ResponseReturnValue:
    # POST, not GET: names and dates of birth never go into a URL or a server log.
    form = SearchForm()
    matches = None
    if form.validate_on_submit():
        try:
            matches = records.search_people(web.service_context(actor), person_data(form))
        except ValidationFailed as exc:
            web.form_error(form, exc)
    status = 400 if web.is_post() and matches is None else 200
    return render_template("people/search.html", form=form, matches=matches), status


def _disclosure_form(person: PersonView) -> DisclosureForm:
    form = DisclosureForm()
    form.case_number.choices = [SelectChoice("", "(not tied to one case)")] + [
        SelectChoice(number, number) for number, _part, _status in person.cases
    ]
    return form


@bp.get("/<int:person_id>")
@requires(Permission.PEOPLE_VIEW)
def show(actor: Actor, person_id: int) -> ResponseReturnValue:
    person = records.view_person(web.service_context(actor), person_id)
    return render_template(
        "people/person.html",
        person=person,
        form=_disclosure_form(person),
        outside_agency=actor.agency,
    )


@bp.post("/<int:person_id>/merge")
@requires(Permission.PEOPLE_SEARCH)
def merge(actor: Actor, person_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    merging.check_may_merge(ctx, person_id)
    form = MergeForm()

    def merge_it() -> Staged[int]:
        other = parse_id(form.other_id.data)
        if other is None:
            raise ValidationFailed("Choose a record to merge into this one.")
        return merging.merge_people(ctx, keep_id=person_id, merge_id=other)

    done = web.submit(
        ctx,
        form,
        merge_it,
        done="Records merged: this record now holds the other's cases, reports and disclosures.",
        then=lambda kept: redirect(url_for("people.show", person_id=kept)),
    )
    if done:
        return done
    person = records.view_person(ctx, person_id)
    return (
        render_template(
            "people/person.html",
            person=person,
            form=_disclosure_form(person),
            outside_agency=actor.agency,
        ),
        400,
    )


@bp.post("/<int:person_id>/disclosures")
@requires(Permission.PEOPLE_SEARCH)
def record_disclosure(actor: Actor, person_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    person = records.view_person(ctx, person_id)
    form = _disclosure_form(person)
    done = web.submit(
        ctx,
        form,
        lambda: disclosures.record_disclosure(
            ctx,
            person_id,
            basis=DisclosureBasis(form.basis.data),
            recipient=form.recipient.data or "",
            interest=form.interest.data or "",
            disclosed_at=_at_noon(form.disclosed_on.data, ctx.now),
            case_number=form.case_number.data or None,
        ),
        done="Disclosure recorded.",
        then=lambda _: redirect(url_for("people.show", person_id=person_id, _anchor="disclosures")),
    )
    return done or (
        render_template(
            "people/person.html", person=person, form=form, outside_agency=actor.agency
        ),
        400,
    )


@bp.get("/disclosures", endpoint="disclosures")
@requires(Permission.DISCLOSURES_REVIEW)
def all_disclosures(actor: Actor) -> ResponseReturnValue:
    rows = disclosures.list_disclosures(web.service_context(actor))
    return render_template("people/disclosures.html", disclosures=rows)


def _at_noon(day: date | None, now: datetime) -> datetime:
    """A date typed in a form as a moment: today means now, an earlier day its noon UTC."""
    if day is None or day == now.date():
        return now
    return datetime.combine(day, time(12), tzinfo=UTC)
