"""The auditor's filter (a GET form: bookmarkable, changes nothing) and the review form."""

from __future__ import annotations

from wtforms import DateField, Form, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from btam.audit.actions import AuditAction, Outcome
from btam.forms import BaseForm, LongSelect, RecordIdField


class TrailFilterForm(Form):
    # A typed username, not a list: a state holds thousands of accounts.
    username = StringField(
        "User",
        description="Their user name, for example j.rivera.",
        validators=[Optional(), Length(max=64)],
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    action = SelectField(
        "Action",
        choices=[SelectChoice("", "Any")] + [SelectChoice(a.value, a.value) for a in AuditAction],
        validators=[Optional()],
        widget=LongSelect(),
    )
    outcome = SelectField(
        "Outcome",
        choices=[SelectChoice("", "Any")] + [SelectChoice(o.value, o.value) for o in Outcome],
        validators=[Optional()],
    )
    school_id = SelectField("School", coerce=str, validators=[Optional()], widget=LongSelect())
    case_number = StringField(
        "Case number",
        description="As on the case, for example 2026-0042.",
        validators=[
            Optional(),
            Length(max=16),
            Regexp(r"^\s*[0-9]{4}-[0-9]{4,6}\s*$", message="A case number looks like 2026-0042."),
        ],
    )
    object_type = SelectField(
        "Record type",
        choices=[
            SelectChoice("", "Any"),
            SelectChoice("user", "user"),
            SelectChoice("team", "team"),
            SelectChoice("school", "school"),
            SelectChoice("route", "route"),
            SelectChoice("case", "case"),
            SelectChoice("audit_trail", "audit trail"),
            SelectChoice("audit_entry", "audit entry"),
        ],
        validators=[Optional()],
    )
    object_id = RecordIdField("Record id", validators=[Optional()])
    date_from = DateField("From (date)", validators=[Optional()])
    date_to = DateField("To (date)", validators=[Optional()])


class ReviewForm(BaseForm):
    verdict = SelectField(
        "Verdict",
        choices=[
            SelectChoice("", "Choose a verdict"),
            SelectChoice("justified", "Justified: an articulable and significant threat"),
            SelectChoice("not_justified", "Not justified: refer for follow-up"),
        ],
    )
    submit = SubmitField("Record review")

    def validate_verdict(self, field: SelectField) -> None:
        # Nothing is preselected: the auditor reads the stated threat and decides.
        if not field.data:
            raise ValidationError("Choose a verdict.")
