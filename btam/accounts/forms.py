"""Forms of sign-in, the user's own account and the administrator's pages."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from btam.access.actor import DISCIPLINE_LABELS, ROLE_LABELS
from btam.forms import BaseForm, CountField, MultiCheckboxField
from btam.ids import record_id

# Longer than any accepted password, so the check happens in the rules with a clear message,
# but short enough that a hostile megabyte never reaches the hash function.
PASSWORD_INPUT_MAX = 1024


class LoginForm(BaseForm):
    username = StringField(
        "User name",
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Sign in")


class CodeForm(BaseForm):
    code = StringField(
        "Code from your authenticator app, or a recovery code",
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"},
    )
    submit = SubmitField("Continue")


class EnrolForm(BaseForm):
    code = StringField(
        "Six-digit code the app shows now",
        validators=[DataRequired(), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Turn on two-step sign-in")


class AccountEnrolForm(EnrolForm):
    """Enrolment from the account page: the password again, so a stolen session cannot
    plant its own authenticator."""

    current_password = PasswordField(
        "Your password",
        validators=[DataRequired(), Length(max=PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": "current-password"},
    )


class ReauthenticateForm(BaseForm):
    """The password again, before changes a session alone may not make."""

    current_password = PasswordField(
        "Your password",
        validators=[DataRequired(), Length(max=PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Confirm")


class RecoveryCodesForm(BaseForm):
    current_password = PasswordField(
        "Your password",
        validators=[DataRequired(), Length(max=PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Make new recovery codes")


class PasswordChangeForm(BaseForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(), Length(max=PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": "new-password", "aria-describedby": "password-rules"},
    )
    submit = SubmitField("Change password")


class ConfirmForm(BaseForm):
    """A button that changes something; carries only the CSRF token."""

    submit = SubmitField("Confirm")


class UserForm(BaseForm):
    username = StringField(
        "User name",
        validators=[InputRequired(), Length(min=3, max=64)],
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
        description="Lower-case letters, digits, dots, dashes; cannot be changed later.",
    )
    display_name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    role = SelectField(
        "Role", choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()]
    )
    discipline = SelectField(
        "Discipline (team leads and members)",
        choices=[SelectChoice("", "None")]
        + [SelectChoice(d.value, label) for d, label in DISCIPLINE_LABELS.items()],
        validators=[Optional()],
    )
    district_wide = BooleanField("Works across the whole district")
    agency = StringField(
        "Agency (team members employed outside the schools)",
        validators=[Optional(), Length(max=200)],
        description="For example a police department or a community clinic. Their case pages "
        "remind them that records may not be passed to that agency.",
    )
    school_ids = MultiCheckboxField("Schools", coerce=record_id, validate_choice=True)
    submit = SubmitField("Save")


class TeamForm(BaseForm):
    name = StringField("Team name", validators=[InputRequired(), Length(max=200)])
    school_ids = MultiCheckboxField("Schools the team covers", coerce=record_id)
    member_ids = MultiCheckboxField("Members", coerce=record_id)
    submit = SubmitField("Save")


class SchoolForm(BaseForm):
    name = StringField("School name", validators=[InputRequired(), Length(max=200)])
    code = StringField(
        "Short code",
        validators=[InputRequired(), Length(min=2, max=20)],
        description="For example RHS; letters, digits and dashes.",
    )
    submit = SubmitField("Add school")


class DistrictForm(BaseForm):
    assessment_model = SelectField(
        "Assessment model for new cases",
        choices=[],
        description="Each case keeps the model version it was opened with.",
    )
    time_zone = SelectField(
        "Time zone",
        choices=[],
        description="Every date and time is shown, and typed, in this zone.",
    )
    review_days_imminent = CountField(
        "Review an imminent case every (days)", validators=[Optional(), NumberRange(1, 90)]
    )
    review_days_high = CountField(
        "Review a high case every (days)", validators=[Optional(), NumberRange(1, 90)]
    )
    review_days_moderate = CountField(
        "Review a moderate case every (days)", validators=[Optional(), NumberRange(1, 90)]
    )
    review_days_low = CountField(
        "Review a low case every (days)", validators=[Optional(), NumberRange(1, 90)]
    )
    submit = SubmitField("Save the district's settings")


class NonSchoolDayForm(BaseForm):
    day = DateField("Day", validators=[InputRequired()])
    action = SelectField(
        "Change",
        choices=[
            SelectChoice("add", "No school that day"),
            SelectChoice("remove", "A school day again"),
        ],
    )
