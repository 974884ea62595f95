"""Sign-in, second factor, enrolment during sign-in, sign-out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import public, requires
from btam.access.permissions import Permission
from btam.accounts import signin
from btam.accounts.forms import CodeForm, EnrolForm, LoginForm
from btam.error_pages import render_error
from btam.errors import ValidationFailed

# A password step is good for this long; then the second factor must start over.
PENDING_LIFETIME = timedelta(minutes=5)
GENERIC_FAILURE = "The user name or password is not right, or the account cannot sign in."


def _set_pending(user_id: int, username: str, step: signin.Step, next_url: str | None) -> None:
    session.clear()
    session["pending"] = {
        "user_id": user_id,
        "username": username,
        "step": str(step),
        "at": datetime.now(UTC).isoformat(),
        "next": next_url,
    }


def _pending(step: signin.Step) -> dict[str, object] | None:
    pending = session.get("pending")
    if not isinstance(pending, dict) or pending.get("step") != str(step):
        return None
    started = datetime.fromisoformat(str(pending["at"]))
    if datetime.now(UTC) - started > PENDING_LIFETIME:
        session.pop("pending", None)
        return None
    return pending


def _address() -> str:
    return web.client_address() or signin.UNKNOWN_ADDRESS


def _locked() -> ResponseReturnValue:
    # The sign-in in progress ends with the lockout: its next attempt starts from the top.
    session.clear()
    return render_error(429)


def _finish(
    user_id: int, next_url: str | None, open_session: Callable[[], str]
) -> ResponseReturnValue:
    try:
        token = open_session()
    except signin.SigninLocked:
        return _locked()
    except ValidationFailed:
        session.clear()
        flash(GENERIC_FAILURE, "error")
        return redirect(url_for("auth.login"))
    found = signin.resume(web.service_context(user_id=user_id), token=token)[0]
    # A new session id at sign-in: nothing set before it (a planted cookie) carries over.
    session.clear()
    if found is None:
        return redirect(url_for("auth.login"))
    login_user(found, remember=False)
    return redirect(web.safe_next(next_url) or url_for("main.dashboard"))


def _complete(user_id: int, next_url: str | None) -> ResponseReturnValue:
    ctx = web.service_context(user_id=user_id)
    return _finish(user_id, next_url, lambda: signin.complete_signin(ctx, user_id=user_id))


bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    if web.current_actor() is not None:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    next_url = web.safe_next(request.args.get("next"))
    if form.validate_on_submit():
        ctx = web.service_context()
        result = signin.check_password(
            ctx,
            username=form.username.data or "",
            password=form.password.data or "",
            address=_address(),
        )
        if result.step is signin.Step.LOCKED:
            return render_error(429)
        if result.step is signin.Step.FAILED or result.user_id is None:
            flash(GENERIC_FAILURE, "error")
            return render_template("auth/login.html", form=form), 200
        if result.step is signin.Step.DONE:
            return _complete(result.user_id, next_url)
        _set_pending(result.user_id, form.username.data or "", result.step, next_url)
        if result.step is signin.Step.ENROL:
            return redirect(url_for("auth.enrol"))
        return redirect(url_for("auth.second_factor"))
    if request.method == "POST":
        flash(GENERIC_FAILURE, "error")
    return render_template("auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
@public
def second_factor() -> ResponseReturnValue:
    pending = _pending(signin.Step.SECOND_FACTOR)
    if pending is None:
        flash("Start again with your user name and password.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        user_id = int(str(pending["user_id"]))
        outcome = signin.check_second_factor(
            web.service_context(user_id=user_id),
            user_id=user_id,
            code=form.code.data or "",
            address=_address(),
        )
        if outcome is signin.Step.DONE:
            return _complete(user_id, _next_of(pending))
        if outcome is signin.Step.LOCKED:
            return _locked()
        form.code.errors.append("That code is not right. Enter the code the app shows now.")
    return render_template("auth/second_factor.html", form=form)


@bp.route("/login/setup", methods=["GET", "POST"])
@public
def enrol() -> ResponseReturnValue:
    pending = _pending(signin.Step.ENROL)
    if pending is None:
        flash("Start again with your user name and password.", "info")
        return redirect(url_for("auth.login"))
    user_id = int(str(pending["user_id"]))
    ctx = web.service_context(user_id=user_id)
    form = EnrolForm()
    try:
        if form.validate_on_submit():
            try:
                enrolled = signin.confirm_signin_enrolment(
                    ctx, user_id=user_id, code=form.code.data or "", address=_address()
                )
            except ValidationFailed as exc:
                form.code.errors.append(str(exc))
            else:
                # Not _set_pending: clearing the session now would orphan the form token
                # that the page below carries. The cookie carries the one-time token that
                # finishes the sign-in, never the right to finish it.
                session["pending"] = {
                    **pending,
                    "step": str(signin.Step.DONE),
                    "token": enrolled.step_token,
                }
                return render_template(
                    "auth/recovery_codes.html", codes=enrolled.codes, during_signin=True
                )
        setup = signin.signin_enrolment(ctx, user_id=user_id, address=_address())
    except signin.SigninLocked:
        return _locked()
    except ValidationFailed:
        session.clear()
        flash("Start again with your user name and password.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/enrol.html", form=form, setup=setup)


@bp.route("/login/finish", methods=["POST"])
@public
def finish() -> ResponseReturnValue:
    pending = _pending(signin.Step.DONE)
    if pending is None:
        return redirect(url_for("auth.login"))
    user_id = int(str(pending["user_id"]))
    ctx = web.service_context(user_id=user_id)
    return _finish(
        user_id,
        _next_of(pending),
        lambda: signin.finish_enrolled_signin(
            ctx, user_id=user_id, step_token=str(pending.get("token") or ""), address=_address()
        ),
    )


def _next_of(pending: dict[str, object]) -> str | None:
    target = pending.get("next")
    return target if isinstance(target, str) else None


@bp.route("/logout", methods=["POST"])
@requires(Permission.ACCOUNT_SELF_MANAGE)
def logout(actor: Actor) -> ResponseReturnValue:
    signin.sign_out(web.service_context(actor), actor=actor)
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
