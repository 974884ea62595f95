"""Referrals and notifications on the case page: drafting, consent, each step of a referral,
its printable letter, notifications given and a subject's documented history. A refusal shows
the case page again with the form and its errors."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission
from btam.access.policy import Act
from btam.access.record_classes import RecordClass
from btam.assessment.terms import Method
from btam.cases.case_page import render_case_page
from btam.cases.services import guard
from btam.context import ServiceContext
from btam.ids import parse_id
from btam.plans.referral_forms import (
    ConsentForm,
    HistoryForm,
    MoveForm,
    NotificationForm,
    ReferralForm,
    consent_data,
    for_referral,
    referral_data,
)
from btam.plans.referral_page import fill_choices
from btam.plans.referral_terms import Audience, History, ReferralMove
from btam.plans.services import notifications, referrals
from btam.plans.services.referral_section import referral_section

bp = Blueprint("referrals", __name__, url_prefix="/cases")


def _to(number: str, anchor: str) -> ResponseReturnValue:
    return redirect(url_for("cases.show", number=number, _anchor=anchor))


def _prepared(ctx: ServiceContext, number: str, act: Act, **forms: object) -> None:
    """Check the act first (refusals are recorded before the form is read), then give the
    forms this case's choices, as the case page does."""
    loaded = guard.load_case(ctx, number, act)
    section = referral_section(ctx, loaded)
    if section is not None:
        fill_choices(section, **forms)  # type: ignore[arg-type]


@bp.post("/<number>/referrals")
@requires(Permission.CASES_WORK)
def draft(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = ReferralForm()
    _prepared(ctx, number, Act.REFER, referral_form=form)
    done = web.submit(
        ctx,
        form,
        lambda: referrals.draft_referral(ctx, number, referral_data(form)),
        done="Referral drafted. Send it when the consent or the legal basis is in place.",
        then=lambda _: _to(number, "referrals"),
    )
    return done or render_case_page(ctx, actor, number, referral_form=form, status=400)


@bp.post("/<number>/referrals/<int:referral_id>/consent")
@requires(Permission.CASES_WORK)
def consent(actor: Actor, number: str, referral_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.REFER)
    form = for_referral(ConsentForm, referral_id)
    done = web.submit(
        ctx,
        form,
        lambda: referrals.record_consent(ctx, number, referral_id, consent_data(form)),
        done="Consent recorded.",
        then=lambda _: _to(number, f"referral-{referral_id}"),
    )
    return done or render_case_page(
        ctx, actor, number, consent_form=form, failed_referral=referral_id, status=400
    )


@bp.post("/<number>/referrals/<int:referral_id>/move")
@requires(Permission.CASES_WORK)
def move(actor: Actor, number: str, referral_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.REFER)
    form = for_referral(MoveForm, referral_id)
    done = web.submit(
        ctx,
        form,
        lambda: referrals.move_referral(
            ctx,
            number,
            referral_id,
            move=ReferralMove(form.move.data),
            note=form.note.data or "",
            follow_up_on=form.follow_up_on.data,
            at=_on(ctx, form.at_on.data),
        ),
        then=lambda status: _moved(number, referral_id, status.label),
    )
    return done or render_case_page(
        ctx, actor, number, move_form=form, failed_referral=referral_id, status=400
    )


def _on(ctx: ServiceContext, day: date | None) -> datetime | None:
    return None if day is None else web.typed_moment(day, None, ctx.now)


def _moved(number: str, referral_id: int, label: str) -> ResponseReturnValue:
    flash(f"Referral {referral_id} is now {label.lower()}.", "success")
    return _to(number, f"referral-{referral_id}")


@bp.get("/<number>/referrals/<int:referral_id>/letter")
@requires(Permission.CASES_VIEW)
def letter(actor: Actor, number: str, referral_id: int) -> ResponseReturnValue:
    found = referrals.referral_letter(web.service_context(actor), number, referral_id)
    return render_template("plans/referral_letter.html", letter=found)


@bp.post("/<number>/notifications")
@requires(Permission.CASES_WORK)
def notify(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = NotificationForm()
    _prepared(ctx, number, Act.NOTIFY, notification_form=form)
    done = web.submit(
        ctx,
        form,
        lambda: notifications.record_notification(
            ctx,
            number,
            audience=Audience(form.audience.data),
            about_person_id=parse_id(form.about_person_id.data or ""),
            recipient=form.recipient.data or "",
            notified_at=web.typed_moment(form.notified_on.data, form.notified_at.data, ctx.now),
            method=Method(form.method.data),
            summary=form.summary.data or "",
            record_class=RecordClass(form.record_class.data),
        ),
        done="Notification recorded.",
        then=lambda _: _to(number, "notifications"),
    )
    return done or render_case_page(ctx, actor, number, notification_form=form, status=400)


@bp.post("/<number>/histories")
@requires(Permission.CASES_WORK)
def history(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = HistoryForm()
    _prepared(ctx, number, Act.NOTIFY, history_form=form)
    done = web.submit(
        ctx,
        form,
        lambda: notifications.record_history(
            ctx,
            number,
            person_id=parse_id(form.person_id.data or ""),
            kind=History(form.kind.data),
            documented_in=form.documented_in.data or "",
        ),
        done="Documented history recorded: staff assigned to the subject are to be told in "
        "writing before the assignment.",
        then=lambda _: _to(number, "notifications"),
    )
    return done or render_case_page(ctx, actor, number, history_form=form, status=400)
