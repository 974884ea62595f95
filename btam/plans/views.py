"""The plan's forms: items and their work page, the counselors' log, reviews, the IEP / 504
status, closing. (The district's calendar is an admin page: btam.accounts.views.admin.)"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission
from btam.access.policy import Act
from btam.cases.case_page import render_case_page
from btam.cases.services import guard
from btam.context import ServiceContext
from btam.plans.forms import (
    CloseForm,
    ItemStatusForm,
    LogForm,
    PlanItemForm,
    ProgressForm,
    ReviewForm,
    SupportPlanForm,
    item_data,
)
from btam.plans.plan_page import fill_item_form
from btam.plans.services import closure, items, log, reviews
from btam.plans.services.view import item_page
from btam.plans.terms import ItemStatus, LogKind, SupportPlan

bp = Blueprint("plans", __name__)


def _to_case(number: str, anchor: str) -> ResponseReturnValue:
    return redirect(url_for("cases.show", number=number, _anchor=anchor))


def _to_item(number: str, item_id: int) -> ResponseReturnValue:
    return redirect(url_for("plans.item", number=number, item_id=item_id))


@bp.post("/cases/<number>/plan")
@requires(Permission.CASES_WORK)
def add_item(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    loaded = guard.load_case(ctx, number, Act.ASSIGN_WORK)
    form = PlanItemForm()
    fill_item_form(ctx, loaded, form)
    done = web.submit(
        ctx,
        form,
        lambda: items.add_item(ctx, number, item_data(form)),
        done="Added to the plan.",
        then=lambda _: _to_case(number, "plan"),
    )
    return done or render_case_page(ctx, actor, number, plan_form=form, status=400)


def _item_page(
    ctx: ServiceContext, number: str, item_id: int, *, status: int = 200, **forms: object
) -> ResponseReturnValue:
    found, entries = item_page(ctx, number, item_id)
    return render_template(
        "plans/item.html",
        number=number,
        item=found,
        log=entries,
        status_form=forms.get("status_form") or ItemStatusForm(formdata=None),
        progress_form=forms.get("progress_form") or ProgressForm(formdata=None),
        log_form=forms.get("log_form") or LogForm(formdata=None),
    ), status


@bp.get("/cases/<number>/plan/<int:item_id>")
@requires(Permission.CASES_VIEW)
def item(actor: Actor, number: str, item_id: int) -> ResponseReturnValue:
    return _item_page(web.service_context(actor), number, item_id)


@bp.post("/cases/<number>/plan/<int:item_id>/status")
@requires(Permission.CASES_WORK)
def item_status(actor: Actor, number: str, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = ItemStatusForm()
    done = web.submit(
        ctx,
        form,
        lambda: items.set_status(
            ctx,
            number,
            item_id,
            status=ItemStatus(form.status.data),
            reason=form.reason.data or "",
        ),
        done="Status recorded.",
        then=lambda _: _to_item(number, item_id),
    )
    return done or _item_page(ctx, number, item_id, status_form=form, status=400)


@bp.post("/cases/<number>/plan/<int:item_id>/progress")
@requires(Permission.CASES_WORK)
def item_progress(actor: Actor, number: str, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = ProgressForm()
    done = web.submit(
        ctx,
        form,
        lambda: items.add_progress(ctx, number, item_id, body=form.body.data or ""),
        done="Progress note added.",
        then=lambda _: _to_item(number, item_id),
    )
    return done or _item_page(ctx, number, item_id, progress_form=form, status=400)


@bp.post("/cases/<number>/plan/<int:item_id>/log")
@requires(Permission.CASES_WORK)
def add_log(actor: Actor, number: str, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = LogForm()
    done = web.submit(
        ctx,
        form,
        lambda: log.add_entry(
            ctx,
            number,
            item_id,
            log.LogData(
                held_on=form.held_on.data,
                minutes=form.minutes.data or 0,
                kind=LogKind(form.kind.data),
                private_notes=form.private_notes.data or "",
                team_summary=form.team_summary.data or "",
            ),
        ),
        done="Logged.",
        then=lambda _: _to_item(number, item_id),
    )
    return done or _item_page(ctx, number, item_id, log_form=form, status=400)


@bp.post("/cases/<number>/reviews")
@requires(Permission.CASES_WORK)
def add_review(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.ASSIGN_WORK)
    form = ReviewForm()
    done = web.submit(
        ctx,
        form,
        lambda: reviews.record_review(
            ctx, number, changes=form.changes.data or "", next_on=form.next_on.data
        ),
        done="Review recorded.",
        then=lambda _: _to_case(number, "reviews"),
    )
    return done or render_case_page(ctx, actor, number, review_form=form, status=400)


@bp.post("/cases/<number>/support-plan")
@requires(Permission.CASES_WORK)
def support_plan(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.ASSIGN_WORK)
    form = SupportPlanForm()
    done = web.submit(
        ctx,
        form,
        lambda: items.set_support_plan(ctx, number, plan=SupportPlan(form.plan.data)),
        done="IEP / 504 status recorded.",
        then=lambda _: _to_case(number, "plan"),
    )
    return done or render_case_page(ctx, actor, number, support_form=form, status=400)


@bp.post("/cases/<number>/close")
@requires(Permission.CASES_WORK)
def close(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.MANAGE_CASE)
    form = CloseForm()
    done = web.submit(
        ctx,
        form,
        lambda: closure.close_case(
            ctx,
            number,
            rationale=form.rationale.data or "",
            final_review=form.final_review.data or "",
        ),
        then=lambda _: _closed(number),
    )
    return done or render_case_page(ctx, actor, number, close_form=form, status=400)


def _closed(number: str) -> ResponseReturnValue:
    flash("The case is closed. It stays in the history of its people.", "success")
    return _to_case(number, "history")
