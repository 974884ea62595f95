"""``/tip``: the anonymous tip line, open to anyone, and the tipster's follow-up page.

No sign-in, no cookie (the forms carry no CSRF token: a token needs a session cookie, and a
forged anonymous tip is no more than anyone could send), no client address stored: the
address is used only for the rate limit, as a key salted per window that expires. While the
line is flooded, the form carries a proof-of-work challenge that ``static/js/tip-proof.js``
solves in the tipster's browser; no tip is turned away for the flood.
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
from btam.intake.services.tips import (
    WRONG_CODE,
    ProofNeeded,
    RateLimited,
    TipData,
    TipProof,
    TipReceipt,
)
from btam.intake.terms import TipCategory

bp = Blueprint("tips", __name__, url_prefix="/tip")
TOO_MANY_TIPS = (
    "Too many tips have been sent from this connection. Try again in an hour, or from another "
    "connection, or call 911 in an emergency."
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
                proof=_proof_of(form),
            ),
            then=lambda outcome: _answer(form, outcome),
        )
    except RateLimited:
        ctx.db.rollback()
        return render_error(429, TOO_MANY_TIPS)
    status = 400 if web.is_post() else 200
    return done or _tip_page(form, tips.proof_challenge(ctx), status)


def _proof_of(form: TipForm) -> TipProof | None:
    challenge, answer = form.proof_challenge.data or "", form.proof_answer.data or ""
    return TipProof(challenge, answer) if challenge and answer else None


def _answer(form: TipForm, outcome: TipReceipt | ProofNeeded) -> ResponseReturnValue:
    if isinstance(outcome, ProofNeeded):
        # Held back, not refused: the same form, filled in, with the check to do first.
        return _tip_page(form, outcome, 200, held=True)
    return render_template("intake/tip_received.html", code=outcome.code)


def _tip_page(
    form: TipForm, proof: ProofNeeded | None, status: int, *, held: bool = False
) -> ResponseReturnValue:
    if proof is not None:
        # Each page gets a fresh challenge: an answer buys one tip only.
        form.proof_challenge.data, form.proof_answer.data = proof.challenge, ""
    # A file input cannot be filled again: a tip with a file waits for the tipster to
    # attach it again; one without is sent as soon as the browser has done the check.
    resend = held and not getattr(form.file.data, "filename", "")
    return render_template(
        "intake/tip.html", form=form, proof=proof, held=held, resend=resend
    ), status


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
