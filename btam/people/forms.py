"""Forms naming a person, searching people and recording a disclosure."""

from __future__ import annotations

from wtforms import (
    DateField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from btam.forms import BaseForm, record_id_text
from btam.ids import parse_id
from btam.people.services.matching import PersonData
from btam.people.terms import DisclosureBasis, Part, PersonKind

KIND_CHOICES = [SelectChoice(k.value, k.label) for k in PersonKind]


PART_CHOICES = [SelectChoice(p.value, p.label) for p in Part if p is not Part.SUBJECT] + [
    SelectChoice(Part.SUBJECT.value, Part.SUBJECT.label)
]


# No basis is preselected: whoever records a disclosure must choose the one that applied.
BASIS_CHOICES = [SelectChoice("", "— choose the legal basis —")] + [
    SelectChoice(b.value, b.label) for b in DisclosureBasis
]


class PersonFields(BaseForm):
    kind = SelectField("Kind of person", choices=KIND_CHOICES, default=PersonKind.STUDENT.value)
    given_name = StringField("Given name", validators=[Length(max=100)])
    family_name = StringField("Family name", validators=[Length(max=100)])
    date_of_birth = DateField(
        "Date of birth", validators=[Optional()], description="Finds earlier records of the person."
    )
    student_number = StringField(
        "Student id", validators=[Length(max=32)], description="Students only."
    )
    person_id = HiddenField(validators=[record_id_text])


class SearchForm(PersonFields):
    pass


class DisclosureForm(BaseForm):
    basis = SelectField(
        "Legal basis",
        choices=BASIS_CHOICES,
        validators=[DataRequired(message="Choose the legal basis.")],
    )
    recipient = StringField(
        "Recipient",
        validators=[DataRequired(), Length(max=2_000)],
        description="Who received the information: person, agency, address.",
    )
    interest = TextAreaField(
        "Legitimate interest or legal basis",
        validators=[DataRequired(), Length(max=2_000)],
        description="Why they received it; for an emergency, the threat and the parties.",
    )
    disclosed_on = DateField("Date of the disclosure", validators=[DataRequired()])
    case_number = SelectField("Case", validators=[Optional()])


class MergeForm(BaseForm):
    """Merge the record ``other_id`` into the one on the page."""

    other_id = HiddenField(validators=[DataRequired()])


def person_data(form: PersonFields) -> PersonData:
    """The person a form names (``person_id`` picks one already known)."""
    person_id = form.person_id.data or ""
    return PersonData(
        kind=PersonKind(form.kind.data),
        given_name=form.given_name.data or "",
        family_name=form.family_name.data or "",
        date_of_birth=form.date_of_birth.data,
        student_number=form.student_number.data or "",
        person_id=parse_id(person_id),
    )
