"""What an actor may list of people and disclosures: SQL filters built from the policy's rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from btam.access.policy import CASE_RULES, Access, Act, Rel
from btam.cases.models import Case, CaseParty
from btam.cases.scope import visible_cases
from btam.intake.models import Report, ReportPerson
from btam.intake.scope import visible_reports
from btam.people.models import Disclosure, Person

# The acts on a person that people named by a report share with the report's triage: the
# team that triages a report reads who it names, as it reads the report.
_REPORT_ACTS = frozenset({Act.VIEW_HEADER, Act.VIEW_CASE})


def visible_people(access: Access, act: Act = Act.VIEW_CASE) -> ColumnElement[bool]:
    """A filter on :class:`Person`: parties to a case on which the actor may ``act`` and, for
    viewing, the people linked to reports the actor may triage.

    With ``Act.VIEW_DISCLOSURES``, an auditor's filter keeps everyone: the record of
    disclosures is theirs to review, the rest of the person's record is not.

    For lookups among many people (blind-index candidates: hundreds share a value): the
    people the actor may see are listed once. For one person, :func:`visible_person`.
    """
    grounds = _grounds(access, act)
    if grounds is None:
        return true()
    return or_(*(Person.id.in_(rows) for _column, rows in grounds)) if grounds else false()


def visible_person(
    access: Access,
    act: Act = Act.VIEW_CASE,
    *,
    person_id: ColumnElement[int] | InstrumentedAttribute[int] = Person.id,
) -> ColumnElement[bool]:
    """The filter of :func:`visible_people` on a column holding a person's id (a person's
    own by default), checked row by row (one person's page, its disclosures) instead of
    listing everyone visible first."""
    grounds = _grounds(access, act)
    if grounds is None:
        return true()
    if not grounds:
        return false()
    return or_(*(exists(rows.where(column == person_id)) for column, rows in grounds))


def visible_disclosures(access: Access) -> ColumnElement[bool]:
    """A filter on :class:`Disclosure`: those of people whose disclosures the actor may view."""
    return visible_person(access, Act.VIEW_DISCLOSURES, person_id=Disclosure.person_id)


def _grounds(access: Access, act: Act) -> list[tuple[ColumnElement[int], Select[Any]]] | None:
    """What makes a person visible to the actor for ``act``: each a person-id column and the
    rows holding it (None: everyone is)."""
    role = access.actor.role
    allowed_by = CASE_RULES[act].get(role, ())
    if Rel.ANY in allowed_by:
        return None
    grounds: list[tuple[ColumnElement[int], Select[Any]]] = []
    if allowed_by:
        party = CaseParty.__table__.c.person_id
        grounds.append(
            (
                party,
                select(party)
                .join(Case, Case.id == CaseParty.case_id)
                .where(visible_cases(access, act)),
            )
        )
    if act in _REPORT_ACTS and CASE_RULES[Act.TRIAGE].get(role):
        linked = ReportPerson.__table__.c.person_id
        grounds.append(
            (
                linked,
                select(linked)
                .join(Report, Report.id == ReportPerson.report_id)
                .where(visible_reports(access, Act.TRIAGE)),
            )
        )
    return grounds
