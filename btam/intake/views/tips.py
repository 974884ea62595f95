"""``/tip``: the anonymous tip line, open to anyone, and the tipster's follow-up page.

No sign-in, no cookie (the forms carry no CSRF token: a token needs a session cookie, and a
forged anonymous tip is no more than anyone could send), no client address stored: the
address is used only for the rate limit, as a keyed hash that expires.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.access.decorators import public
from btam.context import carry_out
from btam.error_pages import render_error
from btam.errors import ValidationFailed
from btam.ids import parse_id
from btam.intake.forms import FollowUpForm, TipForm
from btam.intake.services import reports, tips
from btam.intake.services.tips import WRONG_CODE, RateLimited, TipData
from btam.intake.terms import TipCategory

bp = Blueprint("tips", __name__, url_prefix="/tip")
TOO_MANY_TIPS = (
    "Too many tips have been sent from here. Try again in an hour, or call 911 in an emergency."
)
TOO_MANY_CODES = "Too many wrong codes have been tried. Wait 15 minutes, then try again."


@bp.route("", methods=["GET", "POST"])
@public
def tip() -> ResponseReturnValue:
    # The tip line records as the anonymous actor, with no address, from the first step.
    ctx = web.service_context().anonymous()
    form = TipForm()
    form.school_id.choices = [SelectChoice("", "Choose the school")] + [
        SelectChoice(str(s.id), s.name) for s in reports.schools(ctx)
    ]
    try:
        done = web.submit(
            ctx,
            form,
            lambda: tips.submit_tip(
                ctx,
                TipData(
                    school_id=parse_id(form.school_id.data) or 0,
                    category=TipCategory(form.category.data),
                    what=form.what.data or "",
                    who=form.who.data or "",
                    where=form.where.data or "",
                    when=form.when.data or "",
                    attachment=web.upload_of(form.file),
                ),
                client=web.client_address(),
            ),
            then=lambda receipt: render_template("intake/tip_received.html", code=receipt.code),
        )
    except RateLimited:
        ctx.db.rollback()
        return render_error(429, TOO_MANY_TIPS)
    status = 400 if web.is_post() else 200
    return done or (render_template("intake/tip.html", form=form), status)


@bp.route("/follow-up", methods=["GET", "POST"])
@public
def follow_up() -> ResponseReturnValue:
    ctx = web.service_context().anonymous()
    form = FollowUpForm()
    thread = None
    if form.validate_on_submit():
        code = form.code.data or ""
        client = web.client_address()
        try:
            if (form.message.data or "").strip():
                thread = carry_out(
                    ctx, tips.tipster_message(ctx, code, form.message.data or "", client=client)
                )
                form.message.data = "" if thread is not None else form.message.data
            else:
                thread = carry_out(ctx, tips.follow_up(ctx, code, client=client))
        except RateLimited:
            ctx.db.rollback()
            return render_error(429, TOO_MANY_CODES)
        except ValidationFailed as exc:
            ctx.db.rollback()
            web.form_error(form, exc)
        else:
            if thread is None:
                web.form_error(form, ValidationFailed(WRONG_CODE, field="code"))
    status = 400 if web.is_post() and thread is None else 200
    return render_template("intake/tip_follow_up.html", form=form, thread=thread), status
