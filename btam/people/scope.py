"""What an actor may list of people and disclosures: SQL filters built from the policy's rules."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true

from btam.access.policy import CASE_RULES, Access, Act, Rel
from btam.cases.models import Case, CaseParty
from btam.cases.scope import visible_cases
from btam.people.models import Disclosure, Person


def visible_people(access: Access, act: Act = Act.VIEW_CASE) -> ColumnElement[bool]:
    """A filter on :class:`Person`: parties to a case on which the actor may ``act``.

    With ``Act.VIEW_DISCLOSURES``, an auditor's filter keeps everyone: the record of
    disclosures is theirs to review, the rest of the person's record is not.
    """
    allowed_by = CASE_RULES[act].get(access.actor.role, ())
    if Rel.ANY in allowed_by:
        return true()
    if not allowed_by:
        return false()
    return Person.id.in_(
        select(CaseParty.person_id)
        .join(Case, Case.id == CaseParty.case_id)
        .where(visible_cases(access, act))
    )


def visible_disclosures(access: Access) -> ColumnElement[bool]:
    """A filter on :class:`Disclosure`: those of people whose disclosures the actor may view."""
    return Disclosure.person_id.in_(
        select(Person.id).where(visible_people(access, Act.VIEW_DISCLOSURES))
    )
