"""The case page's part for referrals and notifications: the section and its forms, with the
choices of this case (its people, targets and subjects), fresh or shown again with errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wtforms import SelectChoice

from btam.cases.services.guard import CaseInScope
from btam.context import ServiceContext
from btam.plans.referral_dto import Choice, ReferralSection
from btam.plans.referral_forms import (
    ConsentForm,
    HistoryForm,
    MoveForm,
    NotificationForm,
    ReferralForm,
    for_referral,
)
from btam.plans.services.referral_section import referral_section


@dataclass
class ReferralPart:
    """What the case page's referral and notification partials render."""

    section: ReferralSection
    referral_form: ReferralForm
    # One consent form per drafted referral and one step form per referral, by referral id.
    consent_forms: dict[int, ConsentForm]
    move_forms: dict[int, MoveForm]
    notification_form: NotificationForm
    history_form: HistoryForm


def _choices(items: list[Choice], blank: str) -> list[SelectChoice]:
    return [SelectChoice("", blank)] + [SelectChoice(c.value, c.label) for c in items]


def fill_choices(
    section: ReferralSection,
    *,
    referral_form: ReferralForm | None = None,
    notification_form: NotificationForm | None = None,
    history_form: HistoryForm | None = None,
) -> None:
    """Give the forms the case's people as choices, so that a valid choice validates."""
    if referral_form is not None:
        referral_form.person_id.choices = _choices(section.people, "The subject")
    if notification_form is not None:
        notification_form.about_person_id.choices = _choices(
            [*section.targets, *section.subjects], "—"
        )
    if history_form is not None:
        history_form.person_id.choices = _choices(section.subjects, "— choose —")


def referral_part(ctx: ServiceContext, loaded: CaseInScope, **forms: Any) -> ReferralPart | None:
    """The part for a viewer who may view the case's records (None for a header-only view)."""
    section = referral_section(ctx, loaded)
    if section is None:
        return None
    # A refused consent or step form comes back under its referral's id.
    failed = forms.get("failed_referral")
    consent_forms: dict[int, ConsentForm] = {}
    move_forms: dict[int, MoveForm] = {}
    for r in section.referrals:
        if r.status.value == "drafted":
            given = forms.get("consent_form") if failed == r.id else None
            consent_forms[r.id] = given or for_referral(ConsentForm, r.id, formdata=None)
        if r.moves:
            given = forms.get("move_form") if failed == r.id else None
            move_forms[r.id] = given or for_referral(MoveForm, r.id, formdata=None)
            move_forms[r.id].move.choices = [SelectChoice("", "— choose —")] + [
                SelectChoice(m.value, m.label) for m in r.moves
            ]
    part = ReferralPart(
        section=section,
        referral_form=forms.get("referral_form") or ReferralForm(formdata=None),
        consent_forms=consent_forms,
        move_forms=move_forms,
        notification_form=forms.get("notification_form") or NotificationForm(formdata=None),
        history_form=forms.get("history_form") or HistoryForm(formdata=None),
    )
    fill_choices(
        section,
        referral_form=part.referral_form,
        notification_form=part.notification_form,
        history_form=part.history_form,
    )
    return part
