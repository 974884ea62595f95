"""``/audit/``: the auditor's trail, its export, the chain's state and the grant review queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import Field, SelectChoice

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission, role_has
from btam.accounts.services import organisation, users
from btam.audit import trail
from btam.audit.forms import ReviewForm, TrailFilterForm
from btam.audit.reader import TrailFilter
from btam.cases.services import emergency, numbers
from btam.context import ServiceContext
from btam.errors import ValidationFailed
from btam.forms import note_refused
from btam.ids import parse_id


def _named(field: Field, lookup: Callable[[str], int | None], missing: str) -> int | None:
    """The id of what a typed field names (None when left empty); ``missing`` on the field
    when it names nothing."""
    text = (field.data or "").strip()
    if not text:
        return None
    found = lookup(text)
    if found is None:
        field.errors = [missing]
    return found


def _filter_form(ctx: ServiceContext) -> tuple[TrailFilterForm, TrailFilter | None]:
    form = TrailFilterForm(request.args)
    form.school_id.choices = [SelectChoice("", "Any")] + [
        SelectChoice(str(s.id), s.name) for s in organisation.list_schools(ctx)
    ]
    if request.args and not form.validate():
        note_refused(form)
        return form, None
    case_id = _named(
        form.case_number, lambda n: numbers.case_id_of(ctx, n), "No case has this number."
    )
    actor_id = _named(
        form.username, lambda n: users.user_id_of(ctx, n), "No account has this user name."
    )
    if form.case_number.errors or form.username.errors:
        note_refused(form)
        return form, None
    if form.date_from.data and form.date_to.data and form.date_from.data > form.date_to.data:
        form.date_to.errors = ["The end date is before the start date."]
        note_refused(form)
        return form, None
    return form, TrailFilter(
        actor_id=actor_id,
        case_id=case_id,
        school_id=parse_id(form.school_id.data),
        action=form.action.data or None,
        outcome=form.outcome.data or None,
        object_type=form.object_type.data or None,
        object_id=str(form.object_id.data) if form.object_id.data else None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )


def _case_numbers(ctx: ServiceContext, rows: list[Any]) -> dict[int, str]:
    # The trail stores a case's id; people read and type its number.
    ids = {r.case_id for r in rows if r.case_id}
    for r in rows:
        if r.object_type == "case" and (found := parse_id(r.object_id)) is not None:
            ids.add(found)
    return numbers.numbers_of(ctx, ids)


bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@requires(Permission.AUDIT_TRAIL_READ)
def index(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    page = parse_id(request.args.get("page", "1"))
    if page is None:
        abort(400)
    form, flt = _filter_form(ctx)
    view = trail.search(ctx, flt=flt, page=page) if flt is not None else None
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    # A filter with errors is the form again, with its messages, like any refused form.
    status = 400 if flt is None and request.args else 200
    return render_template(
        "audit/index.html",
        form=form,
        view=view,
        args=args,
        chain=trail.chain_state(ctx),
        case_numbers=_case_numbers(ctx, view.rows if view else []),
        can_export=role_has(actor.role, Permission.AUDIT_TRAIL_EXPORT),
    ), status


@bp.get("/export.csv")
@requires(Permission.AUDIT_TRAIL_EXPORT)
def export(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    _form, flt = _filter_form(ctx)
    if flt is None:
        flash("Correct the filter before exporting.", "error")
        query: dict[str, Any] = dict(request.args.to_dict())
        return redirect(url_for("audit.index", **query))
    lines = trail.export_csv(ctx, flt=flt)
    return Response(
        lines,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="btam-audit-trail.csv"'},
    )


@bp.get("/grants")
@requires(Permission.AUDIT_GRANTS_REVIEW)
def grants(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    items = trail.grant_queue(ctx)
    statements = {
        item.entry.seq: emergency.statement_of_grant(
            ctx,
            case_id=item.entry.case_id,
            user_id=item.entry.actor_id,
            granted_before=item.entry.at,
        )
        for item in items
        if item.entry.case_id is not None and item.entry.actor_id is not None
    }
    return render_template(
        "audit/grants.html",
        items=items,
        statements=statements,
        case_numbers=_case_numbers(ctx, [r for item in items for r in (item.entry, *item.reads)]),
        form=ReviewForm(),
    )


@bp.post("/grants/<int:seq>/review")
@requires(Permission.AUDIT_GRANTS_REVIEW)
def review(actor: Actor, seq: int) -> ResponseReturnValue:
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            trail.review_grant(
                web.service_context(actor), seq=seq, verdict=trail.Verdict(form.verdict.data)
            )
        except ValidationFailed as exc:
            flash(str(exc), "error")
        else:
            flash("Review recorded.", "success")
    else:
        flash("Choose a verdict: nothing was recorded.", "error")
    return redirect(url_for("audit.grants"))
