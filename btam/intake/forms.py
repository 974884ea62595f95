"""Forms of the intake pages: the staff report, the anonymous tip, triage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from btam.forms import BaseForm, no_control_characters
from btam.ids import parse_number, record_id
from btam.intake.services.reports import STAFF_CHANNELS
from btam.intake.terms import ImmediateAction, NoThreatAction, TipCategory, TriageOutcome
from btam.people.forms import KIND_CHOICES
from btam.people.terms import Part, PersonKind

CHANNEL_CHOICES = [SelectChoice(c.value, c.label) for c in STAFF_CHANNELS]
REPORT_PARTS = (Part.SUBJECT, Part.TARGET, Part.WITNESS)
PART_CHOICES = [SelectChoice(p.value, p.label) for p in REPORT_PARTS]
CATEGORY_CHOICES = [SelectChoice(c.value, c.label) for c in TipCategory]
TRI_STATE = [
    SelectChoice("", "Not yet known"),
    SelectChoice("yes", "Yes"),
    SelectChoice("no", "No"),
]
FILE_HINT = "Optional. PDF, PNG, JPEG or plain text, up to 10 MiB. Stored encrypted."


class PersonEntry(Form):
    """One person named by a report (a sub-form: the outer form carries the CSRF token)."""

    part = SelectField("Part", choices=PART_CHOICES, default=Part.SUBJECT.value)
    kind = SelectField("Kind", choices=KIND_CHOICES, default=PersonKind.STUDENT.value)
    given_name = StringField("Given name", validators=[no_control_characters, Length(max=100)])
    family_name = StringField("Family name", validators=[no_control_characters, Length(max=100)])
    date_of_birth = DateField("Date of birth", validators=[Optional()])
    student_number = StringField("Student id", validators=[no_control_characters, Length(max=32)])


class PeopleList(FieldList):
    """A FieldList that reads an entry's index with ``btam.ids.parse_number``: WTForms' own
    int() of "²" (whose isdigit() is True) would fail the request with a server error."""

    def _extract_indices(self, prefix: str, formdata: Any) -> Iterator[int]:
        offset = len(prefix) + 1
        for key in formdata:
            if key.startswith(prefix):
                index = key[offset:].split(self._field_separator, 1)[0]
                found = parse_number(index, low=0, high=99_999)
                if found is not None:
                    yield found


class ReportForm(BaseForm):
    school_id = SelectField("School", coerce=record_id)
    channel = SelectField("How it came to you", choices=CHANNEL_CHOICES, default="staff")
    occurred = StringField(
        "When it happened",
        validators=[Length(max=500)],
        description="A date and time, or as close as you know.",
    )
    location = StringField("Where", validators=[Length(max=500)])
    narrative = TextAreaField(
        "What was said or done",
        validators=[DataRequired(), Length(max=20_000)],
        description="Word for word where you can; facts, not opinions.",
    )
    people = PeopleList(FormField(PersonEntry), min_entries=3, max_entries=6)
    file = FileField("A file (a photo, a screenshot, a note)", description=FILE_HINT)
    confidential = BooleanField(
        "Keep my identity confidential",
        description="Only the team lead will see who reported; no export carries your name.",
    )
    imminent = BooleanField(
        "Someone is in danger right now",
        description="If so, call 911 and follow the lockdown protocol first.",
    )
    called_911 = BooleanField(ImmediateAction.CALLED_911.label)
    lockdown = BooleanField(ImmediateAction.LOCKDOWN.label)
    officer_notified = BooleanField(ImmediateAction.OFFICER_NOTIFIED.label)
    parents_notified = BooleanField(ImmediateAction.PARENTS_NOTIFIED.label)
    actions_by = StringField(
        "Who took these actions", validators=[Length(max=500)], description="Names and roles."
    )


ACTION_FIELDS = {
    "called_911": ImmediateAction.CALLED_911,
    "lockdown": ImmediateAction.LOCKDOWN,
    "officer_notified": ImmediateAction.OFFICER_NOTIFIED,
    "parents_notified": ImmediateAction.PARENTS_NOTIFIED,
}


class TipForm(BaseForm):
    """The anonymous tip: no CSRF token, since it would need a cookie (see btam/tips)."""

    class Meta:  # nosemgrep: btam-form-without-csrf (the tip line has no session to protect)
        csrf = False

    # No school chosen in advance: a tip sent to the wrong school would reach the wrong team.
    school_id = SelectField("School", validators=[DataRequired(message="Choose the school.")])
    category = RadioField("What is it about?", choices=CATEGORY_CHOICES)
    what = TextAreaField(
        "What happened, or what do you know?",
        validators=[DataRequired(), Length(max=20_000)],
    )
    who = TextAreaField("Who is involved?", validators=[Length(max=2_000)])
    where = StringField("Where?", validators=[Length(max=500)])
    when = StringField("When?", validators=[Length(max=500)])
    file = FileField("A file (a screenshot or photo)", description=FILE_HINT)
    # While the tip line is flooded: the challenge and the browser's answer (tip-proof.js).
    proof_challenge = HiddenField(validators=[Length(max=100)])
    proof_answer = HiddenField(validators=[Length(max=20)])


class FollowUpForm(BaseForm):
    class Meta:  # nosemgrep: btam-form-without-csrf (the tip line has no session to protect)
        csrf = False

    code = StringField(
        "Your follow-up code",
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    message = TextAreaField("Message to the team", validators=[Length(max=5_000)])


class ActionForm(BaseForm):
    action = SelectField(
        "Action", choices=[SelectChoice(a.value, a.label) for a in ImmediateAction]
    )
    taken_by = StringField("By whom", validators=[DataRequired(), Length(max=500)])
    taken_at = StringField(
        "When",
        validators=[DataRequired(), Length(max=16)],
        description="YYYY-MM-DD HH:MM, in the district's time zone.",
    )


class TriageForm(BaseForm):
    screen_imminent = SelectField("Is there an imminent danger?", choices=TRI_STATE, default="")
    screen_threat_communicated = SelectField(
        "Was a threat communicated?", choices=TRI_STATE, default=""
    )
    screen_someone_in_fear = SelectField("Is someone in fear?", choices=TRI_STATE, default="")
    screen_has_plan = SelectField(
        "Does the student have an IEP, 504, behaviour or health plan?",
        choices=TRI_STATE,
        default="",
    )
    screen_manageable_under_plan = SelectField(
        "Is the behaviour manageable under that plan?", choices=TRI_STATE, default=""
    )
    outcome = RadioField("Outcome", choices=[SelectChoice(o.value, o.label) for o in TriageOutcome])
    # Checked by the service (a team of the actor covering the school), so any id may come in.
    team_id = SelectField(
        "Team that takes the case", coerce=record_id, validators=[Optional()], validate_choice=False
    )
    summary = TextAreaField("Case summary", validators=[Length(max=20_000)])
    subject_kind = SelectField(
        "Subject: kind", choices=KIND_CHOICES, default=PersonKind.STUDENT.value
    )
    subject_given_name = StringField("Subject: given name", validators=[Length(max=100)])
    subject_family_name = StringField("Subject: family name", validators=[Length(max=100)])
    case_number = StringField("Existing case number", validators=[Length(max=16)])
    no_threat_action = SelectField(
        "What was done instead",
        choices=[SelectChoice("", "Choose")]
        + [SelectChoice(a.value, a.label) for a in NoThreatAction],
        default="",
    )
    reason = TextAreaField(
        "Reason",
        validators=[Length(max=5_000)],
        description="Required for 'No threat': the facts that show there is none.",
    )


class LinkPersonForm(BaseForm):
    """Which person a mention names: a candidate's id, or "new" (the page renders the radios)."""

    # Read by the view: a person id or "new"; anything else is refused with a message.
    person = StringField("Who is this?")


class MessageForm(BaseForm):
    body = TextAreaField("Reply to the tipster", validators=[DataRequired(), Length(max=5_000)])
