"""The case pages' forms; services validate again, these give the user clear messages."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from btam.access.record_classes import RecordClass
from btam.forms import BaseForm, RecordIdField
from btam.ids import record_id
from btam.people.forms import PART_CHOICES, PersonFields

CLASS_CHOICES = [SelectChoice(c.value, c.label) for c in RecordClass]


class OpenCaseForm(PersonFields):
    team_school = SelectField(
        "Team and school", validators=[DataRequired()], render_kw={"class": "wide"}
    )
    summary = TextAreaField(
        "What brought this to the team",
        validators=[DataRequired(), Length(max=20_000)],
        description="Facts only: what was said or done, when and where.",
    )


class PartyForm(PersonFields):
    part = SelectField("Part in the case", choices=PART_CHOICES)


# The case page holds several forms with fields of the same name: each takes ids of its own.


class SummaryForm(BaseForm):
    id_prefix = "summary"

    summary = TextAreaField("Summary", validators=[DataRequired(), Length(max=20_000)])


class NoteForm(BaseForm):
    record_class = SelectField("Kind of record", choices=CLASS_CHOICES)
    body = TextAreaField("Note", validators=[DataRequired(), Length(max=50_000)])
    team_summary = TextAreaField(
        "Summary for the team",
        validators=[Length(max=5_000)],
        description="Counseling and law-enforcement notes only: what the whole team may read.",
    )


class AttachmentForm(BaseForm):
    id_prefix = "file"

    record_class = SelectField("Kind of record", choices=CLASS_CHOICES)
    file = FileField(
        "File",
        validators=[FileRequired()],
        description="PDF, PNG, JPEG or plain text, up to 10 MiB. Stored encrypted.",
    )


class MemberForm(BaseForm):
    id_prefix = "member"

    user_id = SelectField("Add to the case", coerce=record_id)


class RemoveMemberForm(BaseForm):
    user_id = RecordIdField(validators=[DataRequired()])


class EmergencyForm(BaseForm):
    number = StringField(
        "Case number", validators=[DataRequired(), Length(max=16)], description="Like 2026-0042."
    )
    threat = TextAreaField(
        "The articulable and significant threat",
        validators=[DataRequired(), Length(min=20, max=4_000)],
        description="What is happening now that makes this information necessary to protect "
        "the health or safety of the student or others.",
    )
    parties = TextAreaField(
        "Who needs the information",
        validators=[DataRequired(), Length(max=1_000)],
        description="The people or agencies it goes to, and why they can act on it.",
    )


class StatusForm(BaseForm):
    """The lead closes or reopens the case, with the reason kept in its history."""

    move = SelectField("Change", choices=[])
    reason = TextAreaField(
        "Reason", validators=[DataRequired(message="Give the reason."), Length(max=5000)]
    )
