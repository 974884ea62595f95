"""``/admin/``: the district administrator's pages for users, teams and schools."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.access.actor import Actor, Discipline, Role
from btam.access.decorators import requires
from btam.access.permissions import Permission, role_has
from btam.accounts.dto import TeamRow
from btam.accounts.forms import (
    ConfirmForm,
    DistrictForm,
    NonSchoolDayForm,
    SchoolForm,
    TeamForm,
    UserForm,
)
from btam.accounts.services import organisation, reauth, users
from btam.context import ServiceContext, Staged, staged
from btam.intake.services import coverage, tips
from btam.plans.services import calendar

# The zones US districts keep (any IANA name is accepted by the service; these are offered).
DISTRICT_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "Pacific/Guam",
    "UTC",
)


def _user_data(form: UserForm, username: str | None = None) -> users.UserData:
    return users.UserData(
        username=username if username is not None else (form.username.data or ""),
        display_name=form.display_name.data or "",
        role=Role(form.role.data),
        discipline=Discipline(form.discipline.data) if form.discipline.data else None,
        district_wide=bool(form.district_wide.data),
        school_ids=tuple(form.school_ids.data or ()),
        agency=form.agency.data,
    )


bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _password_proved_lately() -> ResponseReturnValue | None:
    """Every change on these pages needs the password proved in the last 15 minutes.

    Asked here, for every POST of the blueprint (a new route is covered without anyone
    remembering it), after the route's own permission so that other roles still get their
    403; the services refuse too (``ReauthenticationRequired``).
    """
    if not web.is_post():
        return None
    actor = web.current_actor()
    view = current_app.view_functions.get(request.endpoint or "")
    needed = getattr(view, "required_permission", None)
    if actor is None or needed is None or not role_has(actor.role, needed):
        return None
    if reauth.password_recent(web.service_context(actor)):
        return None
    return web.ask_for_password()


def school_choices(ctx: ServiceContext) -> list[tuple[int, str]]:
    return [SelectChoice(s.id, s.name) for s in organisation.list_schools(ctx)]


@bp.get("/")
@requires(Permission.ADMIN_USERS_MANAGE)
def index(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    return render_template(
        "admin/index.html",
        users=users.list_users(ctx),
        teams=organisation.list_teams(ctx),
        schools=organisation.list_schools(ctx),
        tip_flood=tips.tip_line_flood(ctx),
        uncovered=coverage.uncovered_schools(ctx),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Permission.ADMIN_USERS_MANAGE)
def new_user(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = UserForm()
    form.school_ids.choices = school_choices(ctx)
    done = web.submit(
        ctx,
        form,
        lambda: users.create_user(ctx, data=_user_data(form)),
        then=lambda created: render_template(
            "admin/credentials.html", credentials=created, new=True
        ),
    )
    return done or render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(Permission.ADMIN_USERS_MANAGE)
def edit_user(actor: Actor, user_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    user = users.get_user(ctx, user_id)
    form = UserForm(obj=None if web.is_post() else user)
    if not web.is_post():
        form.school_ids.data = list(user.school_ids)
        form.discipline.data = user.discipline.value if user.discipline else ""
        form.role.data = user.role.value
    # The user name is fixed once created; the edit form neither shows nor takes it.
    del form["username"]
    form.school_ids.choices = school_choices(ctx)
    done = web.submit(
        ctx,
        form,
        lambda: users.update_user(
            ctx, user_id=user.id, data=_user_data(form, username=user.username)
        ),
        done="Saved.",
        then=lambda _: redirect(url_for("admin.edit_user", user_id=user.id)),
    )
    return done or render_template(
        "admin/user_form.html", form=form, user=user, action_form=ConfirmForm()
    )


def _confirmed(
    ctx: ServiceContext, use_case: Callable[[], Staged[None]], *, done: str, to: str
) -> ResponseReturnValue:
    # Buttons carry a CSRF token in a ConfirmForm; an invalid one changes nothing.
    if not ConfirmForm().validate_on_submit():
        return redirect(to)
    return web.press(ctx, use_case, done=done, to=to)


@bp.post("/users/<int:user_id>/<any(disable, enable):change>")
@requires(Permission.ADMIN_USERS_MANAGE)
def set_active(actor: Actor, user_id: int, change: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    return _confirmed(
        ctx,
        lambda: users.set_user_active(ctx, user_id=user_id, active=change == "enable"),
        done=(
            "The account is disabled and its sessions have ended."
            if change == "disable"
            else "The account is enabled."
        ),
        to=url_for("admin.edit_user", user_id=user_id),
    )


@bp.post("/users/<int:user_id>/reset-two-step")
@requires(Permission.ADMIN_USERS_MANAGE)
def reset_mfa(actor: Actor, user_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    return _confirmed(
        ctx,
        lambda: users.reset_mfa(ctx, user_id=user_id),
        done="Two-step sign-in was reset; the user sets it up at the next sign-in.",
        to=url_for("admin.edit_user", user_id=user_id),
    )


@bp.post("/users/<int:user_id>/reset-password")
@requires(Permission.ADMIN_USERS_MANAGE)
def reset_password(actor: Actor, user_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    done = web.submit(
        ctx,
        ConfirmForm(),
        lambda: users.reset_password(ctx, user_id=user_id),
        then=lambda created: render_template(
            "admin/credentials.html", credentials=created, new=False
        ),
    )
    return done or redirect(url_for("admin.edit_user", user_id=user_id))


def _team_form(ctx: ServiceContext, existing: TeamRow | None) -> TeamForm:
    form = TeamForm(obj=None if web.is_post() else existing)
    form.school_ids.choices = school_choices(ctx)
    form.member_ids.choices = [
        SelectChoice(
            u.id,
            f"{u.display_name} — {u.role.label}"
            f"{', ' + u.discipline.label if u.discipline else ''}"
            f"{'' if u.is_active else ' (disabled)'}",
        )
        for u in organisation.team_candidates(ctx, existing.id if existing else None)
    ]
    if existing is not None and not web.is_post():
        form.school_ids.data = list(existing.school_ids)
        form.member_ids.data = list(existing.member_ids)
    return form


@bp.route("/teams/new", methods=["GET", "POST"])
@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
@requires(Permission.ADMIN_TEAMS_MANAGE)
def team(actor: Actor, team_id: int | None = None) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    existing = organisation.get_team(ctx, team_id) if team_id is not None else None
    form = _team_form(ctx, existing)

    def save() -> Staged[int]:
        data = organisation.TeamData(
            name=form.name.data or "",
            school_ids=tuple(form.school_ids.data or ()),
            member_ids=tuple(form.member_ids.data or ()),
        )
        if existing is None:
            created = organisation.create_team(ctx, data=data)
            return staged(created.value.id, *created.events)
        updated = organisation.update_team(ctx, team_id=existing.id, data=data)
        return staged(existing.id, *updated.events)

    done = web.submit(
        ctx,
        form,
        save,
        done="Saved.",
        then=lambda saved_id: redirect(url_for("admin.team", team_id=saved_id)),
    )
    return done or render_template(
        "admin/team_form.html", form=form, team=existing, action_form=ConfirmForm()
    )


@bp.post("/teams/<int:team_id>/<any(disable, enable):change>")
@requires(Permission.ADMIN_TEAMS_MANAGE)
def set_team_active(actor: Actor, team_id: int, change: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    return _confirmed(
        ctx,
        lambda: organisation.set_team_active(ctx, team_id=team_id, active=change == "enable"),
        done="The team is disabled." if change == "disable" else "The team is enabled.",
        to=url_for("admin.team", team_id=team_id),
    )


@bp.route("/schools", methods=["GET", "POST"])
@requires(Permission.ADMIN_SCHOOLS_MANAGE)
def schools(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = SchoolForm()
    done = web.submit(
        ctx,
        form,
        lambda: organisation.create_school(
            ctx, name=form.name.data or "", code=form.code.data or ""
        ),
        done="School added.",
        then=lambda _: redirect(url_for("admin.schools")),
    )
    return done or render_template(
        "admin/schools.html", form=form, schools=organisation.list_schools(ctx)
    )


@bp.route("/district", methods=["GET", "POST"])
@requires(Permission.ADMIN_USERS_MANAGE)
def district(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    settings = organisation.district_settings(ctx)
    imminent, high, moderate, low = settings.review_days
    form = DistrictForm(
        assessment_model=settings.assessment_model,
        time_zone=settings.time_zone,
        review_days_imminent=imminent,
        review_days_high=high,
        review_days_moderate=moderate,
        review_days_low=low,
    )
    form.assessment_model.choices = [SelectChoice(v, label) for v, label in settings.model_choices]
    zones = dict.fromkeys((*DISTRICT_ZONES, settings.time_zone))
    form.time_zone.choices = [SelectChoice(z, z.replace("_", " ")) for z in zones]
    done = web.submit(
        ctx,
        form,
        lambda: organisation.update_district(
            ctx,
            assessment_model=form.assessment_model.data or "",
            time_zone=form.time_zone.data or "",
            # A cadence left empty keeps the district's.
            review_days=(
                form.review_days_imminent.data or imminent,
                form.review_days_high.data or high,
                form.review_days_moderate.data or moderate,
                form.review_days_low.data or low,
            ),
        ),
        done="Saved. New cases follow this model; open cases keep theirs.",
        then=lambda _: redirect(url_for("admin.district")),
    )
    refused = 400 if web.is_post() else 200
    return done or (render_template("admin/district.html", form=form, settings=settings), refused)


@bp.route("/calendar", methods=["GET", "POST"])
@requires(Permission.ADMIN_USERS_MANAGE)
def non_school_days(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = NonSchoolDayForm()
    closed = form.action.data != "remove"
    done = web.submit(
        ctx,
        form,
        lambda: calendar.set_non_school_day(ctx, day=form.day.data, closed=closed),
        done="Calendar updated.",
        then=lambda _: redirect(url_for("admin.non_school_days")),
    )
    status = 400 if web.is_post() else 200
    return done or (
        render_template("admin/calendar.html", form=form, days=calendar.non_school_days(ctx)),
        status,
    )
