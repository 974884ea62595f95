"""What an actor may list of people and disclosures: SQL filters built from the policy's rules."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true

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
    """
    role = access.actor.role
    allowed_by = CASE_RULES[act].get(role, ())
    if Rel.ANY in allowed_by:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if allowed_by:
        clauses.append(
            Person.id.in_(
                select(CaseParty.person_id)
                .join(Case, Case.id == CaseParty.case_id)
                .where(visible_cases(access, act))
            )
        )
    if act in _REPORT_ACTS and CASE_RULES[Act.TRIAGE].get(role):
        clauses.append(
            Person.id.in_(
                select(ReportPerson.person_id)
                .join(Report, Report.id == ReportPerson.report_id)
                .where(visible_reports(access, Act.TRIAGE))
            )
        )
    return or_(*clauses) if clauses else false()


def visible_disclosures(access: Access) -> ColumnElement[bool]:
    """A filter on :class:`Disclosure`: those of people whose disclosures the actor may view."""
    return Disclosure.person_id.in_(
        select(Person.id).where(visible_people(access, Act.VIEW_DISCLOSURES))
    )
