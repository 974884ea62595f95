"""Plan records staged through the plans' own services, for tests that need one to exist."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from btam.context import ServiceContext, carry_out
from btam.plans.referral_terms import Consent, Destination
from btam.plans.services import referrals

REFERRAL = referrals.ReferralData(
    person_id=None,
    destination=Destination.COMMUNITY_MENTAL_HEALTH,
    agency="Riverside Family Clinic",
    contact="Intake desk",
    reason="Counseling.",
    consent=referrals.ConsentData(Consent.REFUSED),
)


def drafted_referral(ctx: ServiceContext, number: str, **changes: object) -> int:
    """Draft a referral on the case as ``ctx``'s user (the defaults above, with ``changes``)
    and commit it; its id. The follow-up is a week ahead unless given."""
    data = replace(REFERRAL, follow_up_on=date.today() + timedelta(days=7))
    return carry_out(ctx, referrals.draft_referral(ctx, number, replace(data, **changes)))  # type: ignore[arg-type]
