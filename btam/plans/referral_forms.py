"""Forms of referrals and notifications on the case page. No choice of consent, legal basis,
destination or audience is preselected: each must be chosen."""

from __future__ import annotations

from typing import Any, TypeVar

from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from btam.access.record_classes import RecordClass
from btam.assessment.terms import Method
from btam.forms import BaseForm
from btam.ids import parse_id
from btam.people.terms import DisclosureBasis
from btam.plans.referral_terms import (
    LEGAL_BASES,
    Audience,
    Consent,
    Destination,
    History,
    ReferralMove,
)
from btam.plans.services.referrals import ConsentData, ReferralData

F = TypeVar("F", bound=BaseForm)
CHOOSE = SelectChoice("", "— choose —")
DESTINATION_CHOICES = [CHOOSE] + [SelectChoice(d.value, d.label) for d in Destination]
CONSENT_CHOICES = [CHOOSE] + [SelectChoice(c.value, c.label) for c in Consent]
BASIS_CHOICES = [SelectChoice("", "— none: consent obtained or refused —")] + [
    SelectChoice(b.value, b.label) for b in LEGAL_BASES
]
CLASS_CHOICES = [SelectChoice(c.value, c.label) for c in RecordClass]
MOVE_CHOICES = [CHOOSE] + [SelectChoice(m.value, m.label) for m in ReferralMove]
AUDIENCE_CHOICES = [CHOOSE] + [SelectChoice(a.value, a.label) for a in Audience]
METHOD_CHOICES = [CHOOSE] + [SelectChoice(m.value, m.label) for m in Method]
HISTORY_CHOICES = [CHOOSE] + [SelectChoice(h.value, h.label) for h in History]


def _chosen(message: str) -> list[object]:
    return [DataRequired(message=message)]


class ConsentFields(BaseForm):
    consent = SelectField(
        "Parent consent", choices=CONSENT_CHOICES, validators=_chosen("Choose the consent.")
    )
    consent_records = TextAreaField(
        "Records the consent names", validators=[Length(max=2000)], description="If obtained."
    )
    consent_purpose = StringField("Purpose it names", validators=[Length(max=2000)])
    consent_recipient = StringField("Recipient it names", validators=[Length(max=500)])
    consent_on = DateField("Date of the written consent", validators=[Optional()])
    legal_basis = SelectField(
        "Legal basis without consent",
        choices=BASIS_CHOICES,
        validators=[Optional()],
        description="Only when consent is not needed.",
    )
    basis_statement = TextAreaField(
        "Why that basis applies", validators=[Length(max=2000)], description="If not needed."
    )


class ConsentForm(ConsentFields):
    id_prefix = "consent"


class ReferralForm(ConsentFields):
    id_prefix = "referral"

    person_id = SelectField("Person referred", validators=[Optional()])
    destination = SelectField(
        "Referred to", choices=DESTINATION_CHOICES, validators=_chosen("Choose where.")
    )
    agency = StringField(
        "Agency", validators=[DataRequired(message="Name the agency."), Length(max=500)]
    )
    contact = StringField(
        "Contact", validators=[Length(max=500)], description="A person, a telephone, an address."
    )
    reason = TextAreaField(
        "Reason for the referral",
        validators=[DataRequired(message="Give the reason."), Length(max=2000)],
    )
    record_class = SelectField("Record class", choices=CLASS_CHOICES)
    follow_up_on = DateField(
        "First follow-up", validators=[InputRequired(message="Give the follow-up date.")]
    )


class MoveForm(BaseForm):
    id_prefix = "move"

    move = SelectField("Step", choices=MOVE_CHOICES, validators=_chosen("Choose the step."))
    at_on = DateField("On", validators=[Optional()], description="Today when left empty.")
    note = TextAreaField(
        "What happened",
        validators=[Length(max=2000)],
        description="The reason, when declined or closed without service; the outcome.",
    )
    follow_up_on = DateField(
        "Next follow-up", validators=[Optional()], description="Needed while it stays open."
    )


class NotificationForm(BaseForm):
    id_prefix = "notification"

    audience = SelectField(
        "Who was told", choices=AUDIENCE_CHOICES, validators=_chosen("Choose who.")
    )
    about_person_id = SelectField("About", validators=[Optional()])
    recipient = StringField(
        "Name of the person told",
        validators=[DataRequired(message="Say to whom."), Length(max=500)],
    )
    notified_on = DateField("On", validators=[InputRequired(message="Give the date.")])
    notified_at = TimeField(
        "At", validators=[Optional()], description="In the district's time zone."
    )
    method = SelectField("How", choices=METHOD_CHOICES, validators=_chosen("Choose how."))
    summary = TextAreaField(
        "What was said, in summary",
        validators=[DataRequired(message="Summarise what was said."), Length(max=2000)],
    )
    record_class = SelectField("Record class", choices=CLASS_CHOICES)


class HistoryForm(BaseForm):
    id_prefix = "history"

    person_id = SelectField("Subject", validators=[DataRequired(message="Choose the subject.")])
    kind = SelectField(
        "Documented history", choices=HISTORY_CHOICES, validators=_chosen("Choose which.")
    )
    documented_in = TextAreaField(
        "Where it is documented",
        validators=[DataRequired(message="Say where it is documented."), Length(max=2000)],
    )


def consent_data(form: ConsentFields) -> ConsentData:
    """The consent (or legal basis, or refusal) a validated form states."""
    basis = form.legal_basis.data or ""
    return ConsentData(
        consent=Consent(form.consent.data),
        records=form.consent_records.data or "",
        purpose=form.consent_purpose.data or "",
        recipient=form.consent_recipient.data or "",
        given_on=form.consent_on.data,
        legal_basis=DisclosureBasis(basis) if basis else None,
        basis_statement=form.basis_statement.data or "",
    )


def referral_data(form: ReferralForm) -> ReferralData:
    """The referral a validated form drafts (the case page's or a meeting's)."""
    return ReferralData(
        person_id=parse_id(form.person_id.data or ""),
        destination=Destination(form.destination.data),
        agency=form.agency.data or "",
        contact=form.contact.data or "",
        reason=form.reason.data or "",
        consent=consent_data(form),
        follow_up_on=form.follow_up_on.data,
        record_class=RecordClass(form.record_class.data),
    )


def for_referral(form_class: type[F], referral_id: int, **kwargs: Any) -> F:
    """A step or consent form of one referral: the same field names, ids of its own, so that
    every referral on the page carries its own form."""
    own: type[F] = type(
        f"{form_class.__name__}{referral_id}",
        (form_class,),
        {"id_prefix": f"{form_class.id_prefix}-{referral_id}"},
    )
    return own(**kwargs)
