"""The assessment's forms: facts, answers, determinations, responses and notices.

Services validate everything again; these give the person clear messages first.
"""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from btam.access.record_classes import RecordClass
from btam.assessment.terms import FactSource, Method, NoticeKind, Offence
from btam.forms import BaseForm, MultiCheckboxField
from btam.ids import optional_record_id, record_id

SOURCE_CHOICES = [SelectChoice(s.value, s.label) for s in FactSource]
CLASS_CHOICES = [SelectChoice(c.value, c.label) for c in RecordClass]
OFFENCE_CHOICES = [SelectChoice("", "None")] + [SelectChoice(o.value, o.label) for o in Offence]
KIND_CHOICES = [SelectChoice(k.value, k.label) for k in NoticeKind]
METHOD_CHOICES = [SelectChoice(m.value, m.label) for m in Method]


class FactForm(BaseForm):
    id_prefix = "fact"

    source = SelectField("Source", choices=SOURCE_CHOICES)
    learned_on = DateField(
        "Learned on", validators=[InputRequired(message="Give the date it was learned.")]
    )
    statement = TextAreaField(
        "What was learned",
        validators=[DataRequired(message="Say what was learned."), Length(max=20000)],
        description="Word for word where possible. Say who said or showed it.",
    )
    record_class = SelectField("Record class", choices=CLASS_CHOICES, default="education")
    gathered_by = SelectField("Gathered by", coerce=optional_record_id, validators=[Optional()])
    interviewee = SelectField(
        "Person interviewed",
        coerce=optional_record_id,
        validators=[Optional()],
        description="For an interview: one of the case's people.",
    )
    corroborated = BooleanField("Corroborated")
    corroboration = StringField("Corroborated by", validators=[Length(max=2000)])
    team_summary = TextAreaField(
        "Summary for the team",
        validators=[Length(max=5000)],
        description="For a counseling or law-enforcement fact: what the whole team may read.",
    )
    offence = SelectField(
        "Describes an offence that must be reported",
        choices=OFFENCE_CHOICES,
        validators=[Optional()],
    )


class AnswerForm(BaseForm):
    id_prefix = "answer"

    question = HiddenField(validators=[DataRequired()])
    value = RadioField(
        "Answer",
        choices=[
            SelectChoice("yes", "Yes"),
            SelectChoice("no", "No"),
            SelectChoice("unknown", "Unknown"),
        ],
        validators=[InputRequired(message="Answer yes, no or unknown.")],
    )
    note = TextAreaField("Note", validators=[Length(max=5000)])
    facts = MultiCheckboxField("Facts it rests on", coerce=record_id, choices=[])


class DeterminationForm(BaseForm):
    id_prefix = "determination"

    classification = SelectField("Classification", choices=[])
    level = SelectField("Level of concern", choices=[])
    rationale = TextAreaField(
        "Rationale",
        validators=[DataRequired(message="Give the rationale."), Length(max=20000)],
        description="Why, on the facts cited. No score: the team decides, with reasons.",
    )
    facts = MultiCheckboxField("Facts it rests on", coerce=record_id, choices=[])
    participants = MultiCheckboxField("Participants", coerce=record_id, choices=[])
    knows_subject = MultiCheckboxField(
        "Of the participants, who knows the student", coerce=record_id, choices=[]
    )
    offence = SelectField(
        "Describes an offence that must be reported",
        choices=OFFENCE_CHOICES,
        validators=[Optional()],
    )


class ResponseForm(BaseForm):
    id_prefix = "response"

    decision = RadioField(
        "Your answer",
        choices=[
            SelectChoice("confirm", "I confirm this determination"),
            SelectChoice("object", "I object"),
        ],
        validators=[InputRequired(message="Confirm or object.")],
    )
    objection = TextAreaField(
        "Reason for the objection",
        validators=[Length(max=5000)],
        description="Needed when you object.",
    )


class NoticeForm(BaseForm):
    id_prefix = "notice"

    kind = SelectField("Notice", choices=KIND_CHOICES)
    recipient = StringField(
        "To whom",
        validators=[DataRequired(message="Say to whom."), Length(max=500)],
    )
    given_on = DateField("On", validators=[InputRequired(message="Give the date.")])
    given_at = TimeField("At", validators=[Optional()], description="In the district's time zone.")
    method = SelectField("How", choices=METHOD_CHOICES)
    reached = SelectField(
        "Parents reached",
        choices=[
            SelectChoice("", "Not an attempt to reach the parents"),
            SelectChoice("yes", "Yes"),
            SelectChoice("no", "No"),
        ],
        validators=[Optional()],
    )
    note = TextAreaField("What was said, in summary", validators=[Length(max=2000)])
    offence = SelectField("Offence reported", choices=OFFENCE_CHOICES, validators=[Optional()])
