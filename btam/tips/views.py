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
from btam.cases.intake_forms import FollowUpForm, TipForm
from btam.cases.intake_views import upload_of
from btam.cases.services import intake
from btam.cases.services.intake import RateLimited, TipData
from btam.cases.terms import TipCategory
from btam.errors import ValidationFailed, render_error
from btam.security.decorators import public

TOO_MANY_TIPS = (
    "Too many tips have been sent from here. Try again in an hour, or call 911 in an emergency."
)
TOO_MANY_CODES = "Too many wrong codes have been tried. Wait 15 minutes, then try again."


def make_blueprint() -> Blueprint:
    bp = Blueprint("tips", __name__, url_prefix="/tip")

    @bp.route("", methods=["GET", "POST"])
    @public
    def tip() -> ResponseReturnValue:
        ctx = web.service_context()
        form = TipForm()
        form.school_id.choices = [SelectChoice("", "Choose the school")] + [
            SelectChoice(str(s.id), s.name) for s in intake.schools(ctx)
        ]
        if form.validate_on_submit():
            try:
                receipt = intake.submit_tip(
                    ctx,
                    TipData(
                        school_id=int(form.school_id.data or 0),
                        category=TipCategory(form.category.data),
                        what=form.what.data or "",
                        who=form.who.data or "",
                        where=form.where.data or "",
                        when=form.when.data or "",
                        attachment=upload_of(form.file),
                    ),
                    client=web.client_address(),
                )
            except RateLimited:
                return render_error(429, TOO_MANY_TIPS)
            except ValidationFailed as exc:
                web.form_error(form, exc)
            else:
                return render_template("tips/received.html", code=receipt.code)
        status = 400 if web.is_post() else 200
        return render_template("tips/tip.html", form=form), status

    @bp.route("/follow-up", methods=["GET", "POST"])
    @public
    def follow_up() -> ResponseReturnValue:
        ctx = web.service_context()
        form = FollowUpForm()
        thread = None
        if form.validate_on_submit():
            code = form.code.data or ""
            try:
                if (form.message.data or "").strip():
                    thread = intake.tipster_message(
                        ctx, code, form.message.data or "", client=web.client_address()
                    )
                    form.message.data = ""
                else:
                    thread = intake.follow_up(ctx, code, client=web.client_address())
            except RateLimited:
                return render_error(429, TOO_MANY_CODES)
            except ValidationFailed as exc:
                web.form_error(form, exc)
        status = 400 if web.is_post() and thread is None else 200
        return render_template("tips/follow_up.html", form=form, thread=thread), status

    return bp
