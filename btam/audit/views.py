"""``/audit/``: the auditor's trail, its export, the chain's state and the grant review queue."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission, role_has
from btam.accounts.services import organisation, users
from btam.audit import trail
from btam.audit.forms import ReviewForm, TrailFilterForm
from btam.audit.reader import TrailFilter
from btam.context import ServiceContext
from btam.errors import ValidationFailed


def _filter_form(ctx: ServiceContext) -> tuple[TrailFilterForm, TrailFilter | None]:
    form = TrailFilterForm(request.args)
    form.actor_id.choices = [SelectChoice("", "Anyone")] + [
        SelectChoice(str(u.id), f"{u.display_name} ({u.username})") for u in users.list_users(ctx)
    ]
    form.school_id.choices = [SelectChoice("", "Any")] + [
        SelectChoice(str(s.id), s.name) for s in organisation.list_schools(ctx)
    ]
    if request.args and not form.validate():
        return form, None
    if form.date_from.data and form.date_to.data and form.date_from.data > form.date_to.data:
        form.date_to.errors = ["The end date is before the start date."]
        return form, None
    return form, TrailFilter(
        actor_id=int(form.actor_id.data) if form.actor_id.data else None,
        case_id=form.case_id.data,
        school_id=int(form.school_id.data) if form.school_id.data else None,
        action=form.action.data or None,
        outcome=form.outcome.data or None,
        object_type=form.object_type.data or None,
        object_id=str(form.object_id.data) if form.object_id.data else None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )


bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@requires(Permission.AUDIT_TRAIL_READ)
def index(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form, flt = _filter_form(ctx)
    page = request.args.get("page", "1")
    view = (
        trail.search(ctx, flt=flt, page=int(page) if page.isdigit() else 1)
        if flt is not None
        else None
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "audit/index.html",
        form=form,
        view=view,
        args=args,
        chain=trail.chain_state(ctx),
        can_export=role_has(actor.role, Permission.AUDIT_TRAIL_EXPORT),
    )


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
    return render_template("audit/grants.html", items=trail.grant_queue(ctx), form=ReviewForm())


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
    return redirect(url_for("audit.grants"))
