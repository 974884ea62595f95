"""The signed-in user's own account: password, two-step sign-in, sessions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission
from btam.accounts import signin
from btam.accounts.forms import (
    AccountEnrolForm,
    ConfirmForm,
    PasswordChangeForm,
    ReauthenticateForm,
    RecoveryCodesForm,
)
from btam.accounts.services.reauth import REAUTH_WINDOW
from btam.error_pages import render_error
from btam.errors import ValidationFailed

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/")
@requires(Permission.ACCOUNT_SELF_MANAGE)
def index(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    return render_template(
        "account/index.html",
        summary=signin.account_summary(ctx, actor=actor),
        form=ConfirmForm(),
        codes_form=RecoveryCodesForm(),
    )


@bp.route("/password", methods=["GET", "POST"])
@requires(Permission.ACCOUNT_SELF_MANAGE)
def password(actor: Actor) -> ResponseReturnValue:
    form = PasswordChangeForm()
    rules = web.runtime().password_rules
    if form.validate_on_submit():
        try:
            signin.change_password(
                web.service_context(actor),
                actor=actor,
                current=form.current_password.data or "",
                new=form.new_password.data or "",
            )
        except signin.SigninLocked:
            return render_error(429)
        except ValidationFailed as exc:
            getattr(form, exc.field or "new_password").errors.append(str(exc))
        else:
            flash("Your password has been changed. Other sessions have been ended.", "success")
            return redirect(url_for("account.index"))
    return render_template(
        "account/password.html", form=form, rules=rules, forced=actor.must_change_password
    )


@bp.route("/two-step", methods=["GET", "POST"])
@requires(Permission.ACCOUNT_SELF_MANAGE)
def two_step(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = AccountEnrolForm()
    if form.validate_on_submit():
        try:
            signin.confirm_identity(ctx, actor=actor, password=form.current_password.data or "")
            codes = signin.confirm_pending_enrolment(
                ctx, user_id=actor.user_id, code=form.code.data or ""
            )
        except signin.SigninLocked:
            return render_error(429)
        except ValidationFailed as exc:
            getattr(form, exc.field or "code").errors.append(str(exc))
        else:
            return render_template("auth/recovery_codes.html", codes=codes, during_signin=False)
    setup = signin.pending_enrolment(ctx, user_id=actor.user_id)
    return render_template("auth/enrol.html", form=form, setup=setup, from_account=True)


@bp.post("/recovery-codes")
@requires(Permission.ACCOUNT_SELF_MANAGE)
def recovery_codes(actor: Actor) -> ResponseReturnValue:
    form = RecoveryCodesForm()
    if not form.validate_on_submit():
        flash("Enter your password to make new recovery codes.", "error")
        return redirect(url_for("account.index"))
    try:
        codes = signin.regenerate_recovery_codes(
            web.service_context(actor), actor=actor, password=form.current_password.data or ""
        )
    except signin.SigninLocked:
        return render_error(429)
    except ValidationFailed as exc:
        flash(str(exc), "error")
        return redirect(url_for("account.index"))
    return render_template("auth/recovery_codes.html", codes=codes, during_signin=False)


@bp.route("/confirm-password", methods=["GET", "POST"])
@requires(Permission.ACCOUNT_SELF_MANAGE)
def reauthenticate(actor: Actor) -> ResponseReturnValue:
    form = ReauthenticateForm()
    back = web.safe_next(request.args.get("next")) or url_for("account.index")
    if form.validate_on_submit():
        try:
            signin.confirm_identity(
                web.service_context(actor),
                actor=actor,
                password=form.current_password.data or "",
            )
        except signin.SigninLocked:
            return render_error(429)
        except ValidationFailed as exc:
            web.form_error(form, exc)
        else:
            flash("Password confirmed.", "success")
            return redirect(back)
    page = render_template(
        "account/reauthenticate.html",
        form=form,
        back=back,
        minutes=int(REAUTH_WINDOW.total_seconds() // 60),
    )
    return page, 400 if web.is_post() else 200


@bp.post("/sessions/end-others")
@requires(Permission.ACCOUNT_SELF_MANAGE)
def end_other_sessions(actor: Actor) -> ResponseReturnValue:
    form = ConfirmForm()
    if form.validate_on_submit():
        count = signin.end_other_sessions(web.service_context(actor), actor=actor)
        flash(f"{count} other session(s) ended.", "success")
    return redirect(url_for("account.index"))
