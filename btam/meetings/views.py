"""The meeting pages: the list and scheduling, the meeting (agenda, attendance, quorum), an
agenda item (minutes and decisions), the printed agenda and a case's minutes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from btam import web
from btam.access.actor import Actor
from btam.access.decorators import requires
from btam.access.permissions import Permission
from btam.access.policy import Act
from btam.context import ServiceContext, Staged
from btam.forms import BaseForm
from btam.meetings.dto import ItemPage, PlanChoices
from btam.meetings.forms import (
    AttendeeForm,
    CaseItemForm,
    CloseForm,
    GuestForm,
    MeetingDeterminationForm,
    MinutesForm,
    MoveForm,
    ScheduleForm,
    ShareForm,
    TopicForm,
)
from btam.meetings.services import agenda, attendance, decisions, minutes, schedule
from btam.meetings.services import view as meeting_view
from btam.meetings.services.common import load_meeting
from btam.meetings.terms import DecisionKind, MeetingKind
from btam.plans.forms import PlanItemForm, ReviewForm, item_data
from btam.plans.referral_forms import ReferralForm, referral_data

bp = Blueprint("meetings", __name__, url_prefix="/meetings")


def _show(meeting_id: int, anchor: str = "agenda") -> ResponseReturnValue:
    return redirect(url_for("meetings.show", meeting_id=meeting_id, _anchor=anchor))


def _item(meeting_id: int, item_id: int) -> ResponseReturnValue:
    return redirect(url_for("meetings.item", meeting_id=meeting_id, item_id=item_id))


# --------------------------------------------------------------------------- the list


def _render_index(
    ctx: ServiceContext, form: ScheduleForm | None = None, status: int = 200
) -> ResponseReturnValue:
    listing = schedule.list_meetings(ctx)
    form = form or ScheduleForm(formdata=None)
    form.team_id.choices = [SelectChoice(i, name) for i, name in listing.teams]
    return render_template("meetings/index.html", listing=listing, form=form), status


@bp.get("/")
@requires(Permission.MEETINGS_VIEW)
def index(actor: Actor) -> ResponseReturnValue:
    return _render_index(web.service_context(actor))


@bp.post("/")
@requires(Permission.MEETINGS_WORK)
def schedule_meeting(actor: Actor) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = ScheduleForm()
    form.team_id.choices = [SelectChoice(i, name) for i, name in schedule.schedulable_teams(ctx)]
    done = web.submit(
        ctx,
        form,
        lambda: schedule.schedule_meeting(
            ctx,
            team_id=form.team_id.data,
            starts_at=web.typed_moment(form.starts_on.data, form.starts_at.data, ctx.now),
            place=form.place.data or "",
            kind=MeetingKind(form.kind.data),
        ),
        done="Meeting scheduled. Build its agenda from the team's work.",
        then=lambda meeting_id: _show(meeting_id),
    )
    return done or _render_index(ctx, form, 400)


# --------------------------------------------------------------------------- the meeting


def _render_show(
    ctx: ServiceContext, meeting_id: int, *, status: int = 200, **forms: Any
) -> ResponseReturnValue:
    page = meeting_view.meeting_page(ctx, meeting_id)
    attendee_form = forms.get("attendee_form") or AttendeeForm(formdata=None)
    attendee_form.user_id.choices = [SelectChoice(i, label) for i, label in page.member_choices]
    guest_form = forms.get("guest_form") or GuestForm(formdata=None)
    guest_form.guest_user_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(i, label) for i, label in page.guest_choices
    ]
    return render_template(
        "meetings/meeting.html",
        page=page,
        case_form=forms.get("case_form") or CaseItemForm(formdata=None),
        topic_form=forms.get("topic_form") or TopicForm(formdata=None),
        attendee_form=attendee_form,
        guest_form=guest_form,
    ), status


@bp.get("/<int:meeting_id>")
@requires(Permission.MEETINGS_VIEW)
def show(actor: Actor, meeting_id: int) -> ResponseReturnValue:
    return _render_show(web.service_context(actor), meeting_id)


@bp.post("/<int:meeting_id>/agenda")
@requires(Permission.MEETINGS_WORK)
def build_agenda(actor: Actor, meeting_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    return web.press(
        ctx,
        lambda: agenda.build_agenda(ctx, meeting_id),
        done="The agenda holds the team's work as of now.",
        to=url_for("meetings.show", meeting_id=meeting_id, _anchor="agenda"),
    )


@bp.post("/<int:meeting_id>/agenda/cases")
@requires(Permission.MEETINGS_WORK)
def add_case(actor: Actor, meeting_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    load_meeting(ctx, meeting_id, Act.LEAD_MEETING)
    form = CaseItemForm()
    done = web.submit(
        ctx,
        form,
        lambda: agenda.add_case(ctx, meeting_id, form.number.data or ""),
        done="Case added to the agenda.",
        then=lambda _: _show(meeting_id),
    )
    return done or _render_show(ctx, meeting_id, status=400, case_form=form)


@bp.post("/<int:meeting_id>/agenda/topics")
@requires(Permission.MEETINGS_WORK)
def add_topic(actor: Actor, meeting_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    load_meeting(ctx, meeting_id, Act.LEAD_MEETING)
    form = TopicForm()
    done = web.submit(
        ctx,
        form,
        lambda: agenda.add_topic(ctx, meeting_id, form.topic.data or ""),
        done="Topic added to the agenda.",
        then=lambda _: _show(meeting_id),
    )
    return done or _render_show(ctx, meeting_id, status=400, topic_form=form)


@bp.post("/<int:meeting_id>/items/<int:item_id>/remove")
@requires(Permission.MEETINGS_WORK)
def remove_item(actor: Actor, meeting_id: int, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    return web.press(
        ctx,
        lambda: agenda.remove_item(ctx, meeting_id, item_id),
        done="Item removed from the agenda.",
        to=url_for("meetings.show", meeting_id=meeting_id, _anchor="agenda"),
    )


@bp.post("/<int:meeting_id>/items/<int:item_id>/move")
@requires(Permission.MEETINGS_WORK)
def move_item(actor: Actor, meeting_id: int, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    agenda.loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    form = MoveForm()
    done = web.submit(
        ctx,
        form,
        lambda: agenda.move_item(ctx, meeting_id, item_id, up=form.direction.data == "up"),
        done="Item moved.",
        then=lambda _: _show(meeting_id, f"item-{item_id}"),
    )
    return done or _render_show(ctx, meeting_id, status=400)


@bp.post("/<int:meeting_id>/items/<int:item_id>/share")
@requires(Permission.MEETINGS_WORK)
def share_item(actor: Actor, meeting_id: int, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    agenda.loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    form = ShareForm()
    done = web.submit(
        ctx,
        form,
        lambda: agenda.share_item(ctx, meeting_id, item_id, shared=form.shared.data == "yes"),
        done="What the guests see has changed.",
        then=lambda _: _show(meeting_id, f"item-{item_id}"),
    )
    return done or _render_show(ctx, meeting_id, status=400)


@bp.post("/<int:meeting_id>/attendees")
@requires(Permission.MEETINGS_WORK)
def add_attendee(actor: Actor, meeting_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = AttendeeForm()
    members, _guests = attendance.candidates_for(ctx, meeting_id)
    form.user_id.choices = [SelectChoice(i, label) for i, label in members]
    done = web.submit(
        ctx,
        form,
        lambda: attendance.add_attendee(ctx, meeting_id, form.user_id.data),
        done="Attendance recorded.",
        then=lambda _: _show(meeting_id, "attendance"),
    )
    return done or _render_show(ctx, meeting_id, status=400, attendee_form=form)


@bp.post("/<int:meeting_id>/guests")
@requires(Permission.MEETINGS_WORK)
def add_guest(actor: Actor, meeting_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    form = GuestForm()
    _members, guests = attendance.candidates_for(ctx, meeting_id)
    form.guest_user_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(i, label) for i, label in guests
    ]
    done = web.submit(
        ctx,
        form,
        lambda: attendance.add_guest(
            ctx,
            meeting_id,
            user_id=form.guest_user_id.data,
            name=form.name.data or "",
            affiliation=form.affiliation.data or "",
        ),
        done="Guest recorded. Guests see only the items you share.",
        then=lambda _: _show(meeting_id, "attendance"),
    )
    return done or _render_show(ctx, meeting_id, status=400, guest_form=form)


@bp.post("/<int:meeting_id>/attendees/<int:attendee_id>/acknowledge")
@requires(Permission.MEETINGS_VIEW)
def acknowledge(actor: Actor, meeting_id: int, attendee_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    return web.press(
        ctx,
        lambda: attendance.acknowledge(ctx, meeting_id, attendee_id),
        done="Confidentiality acknowledgement recorded.",
        to=url_for("meetings.show", meeting_id=meeting_id, _anchor="attendance"),
    )


# --------------------------------------------------------------------------- an item


def _render_item(
    ctx: ServiceContext, meeting_id: int, item_id: int, *, status: int = 200, **forms: Any
) -> ResponseReturnValue:
    page = meeting_view.item_page(ctx, meeting_id, item_id)
    determination_form = forms.get("determination_form") or MeetingDeterminationForm(formdata=None)
    _fill(determination_form, page)
    plan_form = forms.get("plan_form") or PlanItemForm(formdata=None)
    referral_form = forms.get("referral_form") or ReferralForm(formdata=None)
    _fill_plans(page.choices, plan_form=plan_form, referral_form=referral_form)
    return render_template(
        "meetings/item.html",
        page=page,
        minutes_form=forms.get("minutes_form") or MinutesForm(formdata=None),
        determination_form=determination_form,
        close_form=forms.get("close_form") or CloseForm(formdata=None),
        plan_form=plan_form,
        referral_form=referral_form,
        review_form=forms.get("review_form") or ReviewForm(formdata=None),
    ), status


def _fill(form: MeetingDeterminationForm, page: ItemPage) -> None:
    form.classification.choices = [SelectChoice(c.value, c.label) for c in page.classifications]
    form.level.choices = [SelectChoice(c.value, c.label) for c in page.levels]
    form.facts.choices = [SelectChoice(series, label) for series, label in page.facts]


def _fill_plans(
    choices: PlanChoices,
    *,
    plan_form: PlanItemForm | None = None,
    referral_form: ReferralForm | None = None,
) -> None:
    """Give the plans' forms the case's owners, targets and people, as the case page does."""
    if plan_form is not None:
        plan_form.owner_id.choices = [SelectChoice(i, name) for i, name in choices.owners]
        plan_form.target_party_id.choices = [SelectChoice("", "—")] + [
            SelectChoice(i, name) for i, name in choices.targets
        ]
    if referral_form is not None:
        referral_form.person_id.choices = [SelectChoice("", "The subject")] + [
            SelectChoice(i, name) for i, name in choices.people
        ]


def _decide(
    ctx: ServiceContext,
    meeting_id: int,
    item_id: int,
    form: BaseForm,
    use_case: Callable[[], Staged[Any]],
    *,
    shown_as: str,
    done: str,
) -> ResponseReturnValue:
    """Carry out what a form of the item page asks, then go back to the item; or show the
    item page again with the form (``shown_as``) and its errors (400)."""
    answer = web.submit(ctx, form, use_case, done=done, then=lambda _: _item(meeting_id, item_id))
    return answer or _render_item(ctx, meeting_id, item_id, status=400, **{shown_as: form})


@bp.get("/<int:meeting_id>/items/<int:item_id>")
@requires(Permission.MEETINGS_WORK)
def item(actor: Actor, meeting_id: int, item_id: int) -> ResponseReturnValue:
    return _render_item(web.service_context(actor), meeting_id, item_id)


@bp.post("/<int:meeting_id>/items/<int:item_id>/minutes")
@requires(Permission.MEETINGS_WORK)
def record_minutes(actor: Actor, meeting_id: int, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    agenda.loaded_item(ctx, meeting_id, item_id, Act.RECORD_MINUTES)
    form = MinutesForm()
    return _decide(
        ctx,
        meeting_id,
        item_id,
        form,
        lambda: minutes.record_minutes(ctx, meeting_id, item_id, form.body.data or ""),
        shown_as="minutes_form",
        done="Minutes recorded.",
    )


@bp.post("/<int:meeting_id>/items/<int:item_id>/determination")
@requires(Permission.MEETINGS_WORK)
def record_determination(actor: Actor, meeting_id: int, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    agenda.loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    form = MeetingDeterminationForm()
    _fill(form, meeting_view.item_page(ctx, meeting_id, item_id))
    return _decide(
        ctx,
        meeting_id,
        item_id,
        form,
        lambda: decisions.decide_determination(
            ctx,
            meeting_id,
            item_id,
            classification=form.classification.data or "",
            level=form.level.data or "",
            rationale=form.rationale.data or "",
            facts=form.facts.data or [],
            kind=DecisionKind(form.kind.data),
        ),
        shown_as="determination_form",
        done="Determination recorded. Each participant confirms it with their own sign-in.",
    )


@bp.post("/<int:meeting_id>/items/<int:item_id>/close")
@requires(Permission.MEETINGS_WORK)
def close_case(actor: Actor, meeting_id: int, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    agenda.loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    form = CloseForm()
    return _decide(
        ctx,
        meeting_id,
        item_id,
        form,
        lambda: decisions.close_case(
            ctx,
            meeting_id,
            item_id,
            reason=form.reason.data or "",
            final_review=form.final_review.data or "",
        ),
        shown_as="close_form",
        done="Case closed.",
    )


@bp.post("/<int:meeting_id>/items/<int:item_id>/plan-item")
@requires(Permission.MEETINGS_WORK)
def add_plan_item(actor: Actor, meeting_id: int, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    choices = decisions.plan_choices(ctx, meeting_id, item_id)
    form = PlanItemForm()
    _fill_plans(choices, plan_form=form)
    return _decide(
        ctx,
        meeting_id,
        item_id,
        form,
        lambda: decisions.add_plan_item(ctx, meeting_id, item_id, item_data(form)),
        shown_as="plan_form",
        done="Added to the case's plan.",
    )


@bp.post("/<int:meeting_id>/items/<int:item_id>/referral")
@requires(Permission.MEETINGS_WORK)
def refer(actor: Actor, meeting_id: int, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    choices = decisions.plan_choices(ctx, meeting_id, item_id)
    form = ReferralForm()
    _fill_plans(choices, referral_form=form)
    return _decide(
        ctx,
        meeting_id,
        item_id,
        form,
        lambda: decisions.refer(ctx, meeting_id, item_id, referral_data(form)),
        shown_as="referral_form",
        done="Referral drafted. Send it from the case page when the consent or the legal "
        "basis is in place.",
    )


@bp.post("/<int:meeting_id>/items/<int:item_id>/review")
@requires(Permission.MEETINGS_WORK)
def review(actor: Actor, meeting_id: int, item_id: int) -> ResponseReturnValue:
    ctx = web.service_context(actor)
    agenda.loaded_item(ctx, meeting_id, item_id, Act.LEAD_MEETING)
    form = ReviewForm()
    return _decide(
        ctx,
        meeting_id,
        item_id,
        form,
        lambda: decisions.review(
            ctx, meeting_id, item_id, changes=form.changes.data or "", next_on=form.next_on.data
        ),
        shown_as="review_form",
        done="Review recorded.",
    )


# --------------------------------------------------------------------------- printed


@bp.get("/<int:meeting_id>/print")
@requires(Permission.MEETINGS_VIEW)
def print_agenda(actor: Actor, meeting_id: int) -> ResponseReturnValue:
    printed = meeting_view.printed_agenda(web.service_context(actor), meeting_id)
    return render_template("meetings/print.html", printed=printed)


@bp.get("/cases/<number>/minutes")
@requires(Permission.CASES_VIEW)
def case_minutes(actor: Actor, number: str) -> ResponseReturnValue:
    minutes_view = meeting_view.case_minutes(web.service_context(actor), number)
    return render_template("meetings/case_minutes.html", record=minutes_view)
