"""The plan's forms; the services validate again, these give the user clear messages."""

from __future__ import annotations

from wtforms import DateField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from btam.forms import BaseForm, CountField
from btam.ids import optional_record_id, record_id
from btam.plans.services.items import ItemData
from btam.plans.terms import Aim, Intervention, ItemStatus, LogKind, SupportPlan

INTERVENTION_CHOICES = [SelectChoice(i.value, i.label) for i in Intervention]
AIM_CHOICES = [SelectChoice(a.value, a.label) for a in Aim]
STATUS_CHOICES = [SelectChoice(s.value, s.label) for s in ItemStatus]
KIND_CHOICES = [SelectChoice(k.value, k.label) for k in LogKind]
SUPPORT_CHOICES = [SelectChoice(s.value, s.label) for s in SupportPlan]


class PlanItemForm(BaseForm):
    id_prefix = "plan"

    intervention = SelectField("Intervention", choices=INTERVENTION_CHOICES)
    description = TextAreaField(
        "Description",
        validators=[Length(max=2_000)],
        description="What is to be done; needed for “Other”.",
    )
    aim = SelectField("Aimed at", choices=AIM_CHOICES)
    target_party_id = SelectField(
        "Target protected", coerce=optional_record_id, validate_choice=False
    )
    owner_id = SelectField("Owner", coerce=record_id, validate_choice=False)
    due_on = DateField("Due", validators=[Optional()])


def item_data(form: PlanItemForm) -> ItemData:
    """The plan item a validated form asks for (the case page's or a meeting's)."""
    return ItemData(
        intervention=Intervention(form.intervention.data),
        description=form.description.data or "",
        aim=Aim(form.aim.data),
        owner_id=form.owner_id.data,
        due_on=form.due_on.data,
        target_party_id=form.target_party_id.data,
    )


class ItemStatusForm(BaseForm):
    id_prefix = "status"

    status = SelectField("New status", choices=STATUS_CHOICES)
    reason = TextAreaField(
        "Reason",
        validators=[Length(max=5_000)],
        description="Needed when the item was missed or is discontinued.",
    )


class ProgressForm(BaseForm):
    id_prefix = "progress"

    body = TextAreaField("Progress note", validators=[DataRequired(), Length(max=5_000)])


class LogForm(BaseForm):
    id_prefix = "log"

    held_on = DateField("Day", validators=[InputRequired()])
    minutes = CountField(
        "Duration (minutes)", validators=[InputRequired(), NumberRange(min=1, max=480)]
    )
    kind = SelectField("Kind", choices=KIND_CHOICES)
    private_notes = TextAreaField(
        "Private notes",
        validators=[Length(max=10_000)],
        description="A counseling record: you and the mental-health discipline read it.",
    )
    team_summary = TextAreaField(
        "Summary for the team",
        validators=[DataRequired(), Length(max=2_000)],
        description="What the whole team may read.",
    )


class ReviewForm(BaseForm):
    id_prefix = "review"

    changes = TextAreaField("What changed", validators=[DataRequired(), Length(max=5_000)])
    next_on = DateField(
        "Next review",
        validators=[Optional()],
        description="Empty: the level's cadence sets it.",
    )


class CloseForm(BaseForm):
    id_prefix = "close"

    rationale = TextAreaField("Closing rationale", validators=[DataRequired(), Length(max=5_000)])
    final_review = TextAreaField(
        "Final review",
        validators=[DataRequired(), Length(max=5_000)],
        description="Where each part of the plan ended, and why the concern is resolved.",
    )


class SupportPlanForm(BaseForm):
    id_prefix = "support"

    plan = SelectField("IEP or 504 plan", choices=SUPPORT_CHOICES)
