"""``/cases/``: the team's case list, the case page and the work done on it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission
from btam.access.policy import Act
from btam.access.record_classes import RecordClass
from btam.cases.case_page import render_case_page
from btam.cases.forms import (
    AttachmentForm,
    EmergencyForm,
    MemberForm,
    NoteForm,
    OpenCaseForm,
    PartyForm,
    RemoveMemberForm,
    StatusForm,
    SummaryForm,
)
from btam.cases.lifecycle import BY_HAND, Transition
from btam.cases.services import emergency, guard, lifecycle, opening, page, records, team
from btam.files import ATTACHMENT_MAX_BYTES
from btam.ids import parse_id
from btam.people.forms import person_data
from btam.people.terms import Part

bp = Blueprint("cases", __name__, url_prefix="/cases")

# Closing has its own form (btam.plans): the status form reopens.
REOPENING = BY_HAND - {Transition.CLOSE}


def _to_case(number: str, anchor: str | None = None) -> str:
    return url_for("cases.show", number=number, _anchor=anchor)


@bp.get("/")
@requires(Permission.CASES_VIEW)
def index(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    number = parse_id(request.args.get("page", "1"))
    if number is None:
        abort(400)
    return render_template(
        "cases/index.html",
        cases=page.list_cases(ctx, page=number),
        can_open=bool(opening.openable_teams(ctx)),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.CASES_OPEN)
def new(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = OpenCaseForm()
    choices = opening.openable_teams(ctx)
    form.team_school.choices = [SelectChoice(f"{t}:{s}", label) for t, s, label in choices]

    def open_it() -> Any:
        team_id, _, school_id = form.team_school.data.partition(":")
        return opening.open_case(
            ctx,
            school_id=parse_id(school_id) or 0,
            team_id=parse_id(team_id) or 0,
            summary=form.summary.data or "",
            subject=person_data(form),
        )

    done = web.submit(ctx, form, open_it, then=lambda opened: _opened(opened.number))
    status = 400 if web.is_post() else 200
    return done or (render_template("cases/new.html", form=form, has_teams=bool(choices)), status)


def _opened(number: str) -> ResponseReturnValue:
    flash(f"Case {number} opened.", "success")
    return redirect(_to_case(number))


@bp.get("/<number>")
@requires(Permission.CASES_VIEW)
def show(actor: Actor, number: str) -> ResponseReturnValue:
    return render_case_page(web.service_context(actor), actor, number)


@bp.post("/<number>/summary")
@requires(Permission.CASES_WORK)
def summary(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.EDIT_CASE)
    form = SummaryForm()
    done = web.submit(
        ctx,
        form,
        lambda: records.update_summary(ctx, number, summary=form.summary.data or ""),
        done="Summary saved.",
        then=lambda _: redirect(_to_case(number)),
    )
    return done or render_case_page(ctx, actor, number, summary_form=form, status=400)


@bp.post("/<number>/notes")
@requires(Permission.CASES_WORK)
def add_note(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.EDIT_CASE)
    form = NoteForm()
    done = web.submit(
        ctx,
        form,
        lambda: records.add_note(
            ctx,
            number,
            record_class=RecordClass(form.record_class.data),
            body=form.body.data or "",
            team_summary=form.team_summary.data,
        ),
        done="Note added.",
        then=lambda _: redirect(_to_case(number, "notes")),
    )
    return done or render_case_page(ctx, actor, number, note_form=form, status=400)


@bp.post("/<number>/attachments")
@requires(Permission.CASES_WORK)
def add_attachment(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.EDIT_CASE)
    form = AttachmentForm()

    def attach() -> Any:
        upload = form.file.data
        return records.add_attachment(
            ctx,
            number,
            record_class=RecordClass(form.record_class.data),
            filename=upload.filename or "",
            content_type=(upload.mimetype or "").lower(),
            data=upload.read(ATTACHMENT_MAX_BYTES + 1),
        )

    done = web.submit(
        ctx,
        form,
        attach,
        done="File attached.",
        then=lambda _: redirect(_to_case(number, "attachments")),
    )
    return done or render_case_page(ctx, actor, number, attachment_form=form, status=400)


@bp.get("/<number>/attachments/<int:attachment_id>")
@requires(Permission.CASES_VIEW)
def attachment(actor: Actor, number: str, attachment_id: int) -> ResponseReturnValue:
    found = records.download_attachment(web.service_context(actor), number, attachment_id)
    return web.file_download(found.data, content_type=found.content_type, filename=found.filename)


@bp.post("/<number>/parties")
@requires(Permission.CASES_WORK)
def add_party(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.EDIT_CASE)
    form = PartyForm()
    done = web.submit(
        ctx,
        form,
        lambda: records.add_party(ctx, number, part=Part(form.part.data), person=person_data(form)),
        done="Person added to the case.",
        then=lambda _: redirect(_to_case(number, "people")),
    )
    return done or render_case_page(ctx, actor, number, party_form=form, status=400)


@bp.post("/<number>/members")
@requires(Permission.CASES_WORK)
def add_member(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    loaded = guard.load_case(ctx, number, Act.MANAGE_CASE)
    form = MemberForm()
    form.user_id.choices = [SelectChoice(i, n) for i, n in team.assignable_users(ctx, loaded.case)]
    done = web.submit(
        ctx,
        form,
        lambda: team.add_member(ctx, number, user_id=form.user_id.data),
        done="Member added.",
        then=lambda _: redirect(_to_case(number, "members")),
    )
    return done or render_case_page(ctx, actor, number, member_form=form, status=400)


@bp.post("/<number>/members/remove")
@requires(Permission.CASES_WORK)
def remove_member(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.MANAGE_CASE)
    form = RemoveMemberForm()
    done = web.submit(
        ctx,
        form,
        lambda: team.remove_member(ctx, number, user_id=form.user_id.data or 0),
        done="Member removed from the case.",
        then=lambda _: redirect(_to_case(number, "members")),
    )
    return done or render_case_page(ctx, actor, number, status=400)


@bp.post("/<number>/status")
@requires(Permission.CASES_WORK)
def change_status(actor: Actor, number: str) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    guard.load_case(ctx, number, Act.MANAGE_CASE)
    form = StatusForm()
    form.move.choices = [SelectChoice(t.value, t.label) for t in Transition if t in REOPENING]
    done = web.submit(
        ctx,
        form,
        lambda: lifecycle.change_status(
            ctx, number, move=Transition(form.move.data), reason=form.reason.data or ""
        ),
        then=lambda status: _status_changed(number, status.label),
    )
    return done or render_case_page(ctx, actor, number, status_form=form, status=400)


def _status_changed(number: str, label: str) -> ResponseReturnValue:
    flash(f"The case is now in {label.lower()}.", "success")
    return redirect(_to_case(number, "history"))


@bp.route("/emergency-access", methods=["GET", "POST"])
@requires(Permission.EMERGENCY_REQUEST)
def emergency_access(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = EmergencyForm()
    if not web.is_post() and request.args.get("number"):
        form.number.data = request.args["number"][:16]
    done = web.submit(
        ctx,
        form,
        lambda: emergency.request_grant(
            ctx,
            number=form.number.data or "",
            threat=form.threat.data or "",
            parties=form.parties.data or "",
        ),
        then=lambda granted: _granted(granted),
    )
    hours = web.runtime().settings.access_emergency_grant_hours
    return done or render_template("cases/emergency.html", form=form, hours=hours)


def _granted(granted: emergency.Granted) -> ResponseReturnValue:
    flash(
        f"Emergency access to case {granted.number} until {web.local_time(granted.expires_at)}. "
        "The grant is recorded as a disclosure and will be reviewed by the auditors.",
        "warning",
    )
    return redirect(_to_case(granted.number))


@bp.post("/<number>/grants/<int:grant_id>/end")
@requires(Permission.EMERGENCY_REQUEST)
def end_grant(actor: Actor, number: str, grant_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    return web.press(
        ctx,
        lambda: emergency.end_grant(ctx, number, grant_id),
        done="Emergency access ended.",
        to=url_for("cases.index"),
    )
