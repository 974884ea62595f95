"""The case page's section of referrals and notifications: what the viewer may read of them,
who must still be told, and the choices its forms offer."""

from __future__ import annotations

from btam.access.policy import Act
from btam.cases import repository as case_repo
from btam.cases.services.guard import CaseInScope
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext
from btam.people.terms import Part
from btam.plans import referral_dto as dto
from btam.plans.services import notifications, referrals


def referral_section(ctx: ServiceContext, loaded: CaseInScope) -> dto.ReferralSection | None:
    """The section for a viewer who may view the case's records (None for a header-only view).

    Nothing is recorded here: the case page's view is recorded once, by ``visit``.
    """
    if not loaded.may(Act.VIEW_CASE):
        return None
    case = loaded.case
    parties = case_repo.parties(ctx.db, case.id)
    people = {person.id: person.full_name for _p, person in parties}
    labelled = {
        (party.person_id, party.part): f"{person.full_name} ({party.part.label.lower()})"
        for party, person in parties
    }
    open_case = case.status is not CaseStatus.CLOSED

    def of_part(part: Part) -> list[dto.Choice]:
        return [dto.Choice(str(pid), label) for (pid, p), label in labelled.items() if p is part]

    return dto.ReferralSection(
        referrals=referrals.referral_views(ctx, loaded, {}, people),
        duties=notifications.duties(ctx, case),
        notifications=notifications.notification_views(ctx, loaded, people),
        histories=notifications.history_views(ctx, case, people),
        people=[dto.Choice(str(pid), name) for pid, name in people.items()],
        targets=of_part(Part.TARGET),
        subjects=of_part(Part.SUBJECT),
        can_refer=open_case and loaded.may(Act.REFER),
        can_notify=open_case and loaded.may(Act.NOTIFY),
    )
