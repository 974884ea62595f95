"""The meetings' forms: scheduling, the agenda, attendance, minutes and decisions.

Services validate everything again; these give the person clear messages first.
"""

from __future__ import annotations

from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, Regexp

from btam.forms import BaseForm, MultiCheckboxField
from btam.ids import optional_record_id, record_id
from btam.meetings.terms import DecisionKind, MeetingKind

KIND_CHOICES = [SelectChoice(k.value, k.label) for k in MeetingKind]


class ScheduleForm(BaseForm):
    id_prefix = "schedule"

    team_id = SelectField("Team", coerce=record_id, choices=[])
    starts_on = DateField("Date", validators=[InputRequired(message="Give the meeting's date.")])
    starts_at = TimeField(
        "Time",
        validators=[InputRequired(message="Give the meeting's time.")],
        description="In the district's time zone.",
    )
    place = StringField(
        "Place",
        validators=[DataRequired(message="Say where the team meets."), Length(max=200)],
        description="A room, not a person's name.",
    )
    kind = SelectField("Kind", choices=KIND_CHOICES, default=MeetingKind.REGULAR.value)


class CaseItemForm(BaseForm):
    id_prefix = "case-item"

    number = StringField(
        "Case number",
        validators=[
            DataRequired(message="Give a case number."),
            Regexp(r"^[0-9]{4}-[0-9]{4,6}$", message="A case number looks like 2026-0042."),
        ],
    )


class TopicForm(BaseForm):
    id_prefix = "topic"

    topic = StringField(
        "Topic", validators=[DataRequired(message="Name the topic."), Length(max=500)]
    )


class MoveForm(BaseForm):
    direction = HiddenField(validators=[AnyOf(["up", "down"])])


class ShareForm(BaseForm):
    shared = HiddenField(validators=[AnyOf(["yes", "no"])])


class AttendeeForm(BaseForm):
    id_prefix = "attendee"

    user_id = SelectField("Team member", coerce=record_id, choices=[])


class GuestForm(BaseForm):
    id_prefix = "guest"

    guest_user_id = SelectField(
        "A user outside the team",
        coerce=optional_record_id,
        choices=[],
        validators=[Optional()],
        description="Who then sees, signed in, the items you share. Or name a guest below.",
    )
    name = StringField("Or the guest's name", validators=[Length(max=200)])
    affiliation = StringField(
        "Role or agency", validators=[Length(max=200)], description="Community clinic, parent..."
    )


class MinutesForm(BaseForm):
    id_prefix = "minutes"

    body = TextAreaField(
        "Minutes",
        validators=[DataRequired(message="Write the minutes."), Length(max=20000)],
        description="An education record of the case: the team and the parents may read it.",
    )


class MeetingDeterminationForm(BaseForm):
    id_prefix = "determination"

    kind = RadioField(
        "Decision",
        choices=[
            SelectChoice(DecisionKind.DETERMINATION.value, "A determination"),
            SelectChoice(DecisionKind.LEVEL_CHANGE.value, "A new level of concern"),
        ],
        default=DecisionKind.DETERMINATION.value,
    )
    classification = SelectField("Classification", choices=[])
    level = SelectField("Level of concern", choices=[])
    rationale = TextAreaField(
        "Rationale",
        validators=[DataRequired(message="Give the team's reasons."), Length(max=20000)],
    )
    facts = MultiCheckboxField("Facts it rests on", coerce=record_id, choices=[])


class CloseForm(BaseForm):
    id_prefix = "close"

    reason = TextAreaField(
        "Closing reason",
        validators=[DataRequired(message="Give the reason for closing."), Length(max=5000)],
    )
    final_review = TextAreaField(
        "Final review",
        validators=[DataRequired(message="Give the final review."), Length(max=5000)],
        description="What the team found when it last reviewed the case.",
    )
