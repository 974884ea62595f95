"""The start page after sign-in: what each role can do from here."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission, role_has
from btam.plans.services import my_work

bp = Blueprint("main", __name__)


@bp.get("/")
@requires(Permission.DASHBOARD_VIEW)
def home(actor: Actor) -> ResponseReturnValue:
    return redirect(url_for("main.dashboard"))


@bp.get("/dashboard")
@requires(Permission.DASHBOARD_VIEW)
def dashboard(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    return render_template(
        "main/dashboard.html",
        work=my_work.my_work(ctx),
        can_admin=role_has(actor.role, Permission.ADMIN_USERS_MANAGE),
        can_audit=role_has(actor.role, Permission.AUDIT_TRAIL_READ),
    )
