"""Opening a case for a school and team, with its subject."""

from __future__ import annotations

from dataclasses import dataclass, replace

from btam.access import policy
from btam.access.actor import Role
from btam.access.policy import Act, TeamFacts
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.assessment.catalog import DEFAULT_MODEL_ID
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.cases import repository
from btam.cases.models import Case, CaseParty
from btam.cases.services.guard import access_for
from btam.cases.services.records import SUMMARY_MAX
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.people.models import Person
from btam.people.services.matching import PersonData, find_or_create_person
from btam.people.terms import Part, PersonKind
from btam.text import clean_text


@dataclass(frozen=True)
class OpenedCase:
    id: int
    number: str
    subject_id: int


def open_case(
    ctx: ServiceContext,
    *,
    school_id: int,
    team_id: int,
    summary: str,
    subject: PersonData | Person,
) -> Staged[OpenedCase]:
    """Open a case for a school and team the actor is on, with its subject.

    :raises AccessDenied: the actor is not on a team covering that school (recorded).
    :raises ValidationFailed: no such team, no summary, or the subject is not named well.
    """
    access = access_for(ctx)
    team = accounts_repo.team(ctx.db, team_id)
    if team is None or not team.is_active:
        raise ValidationFailed("Choose one of your teams.", field="team_id")
    facts = TeamFacts(school_id, team_id, frozenset(s.id for s in team.schools))
    decision = policy.allowed(access, Act.OPEN_CASE, facts)
    if not decision:
        refuse(
            ctx,
            object_type="team",
            object_id=team_id,
            reason=decision.reason,
            school_id=school_id,
            hide=False,
        )
    text = clean_text(summary, limit=SUMMARY_MAX, field="summary", required=True)
    district_id = accounts_repo.district_of(ctx.db, school_id)
    number = repository.next_case_number(ctx.db, district_id, ctx.now.year)
    district = accounts_repo.district(ctx.db, district_id)
    # The case keeps the model version the district used when it was opened.
    model = ctx.catalog.latest(
        (district.assessment_model if district else None) or DEFAULT_MODEL_ID
    )
    actor = access.actor
    case = Case(
        district_id=district_id,
        number=number,
        school_id=school_id,
        team_id=team_id,
        lead_id=actor.user_id if actor.role is Role.TEAM_LEAD else None,
        summary=text,
        assessment_model=model.id,
        assessment_model_version=model.version,
        opened_at=ctx.now,
        opened_by=actor.user_id,
    )
    ctx.db.add(case)
    ctx.db.flush()
    if isinstance(subject, Person):
        person = subject  # already named by a report the actor triages
    else:
        if subject.kind is not PersonKind.OTHER and subject.school_id is None:
            subject = replace(subject, school_id=school_id)
        person = find_or_create_person(ctx, subject, district_id=district_id)
    ctx.db.add(CaseParty(case_id=case.id, person_id=person.id, part=Part.SUBJECT))
    return staged(
        OpenedCase(case.id, case.number, person.id),
        AuditEvent(
            AuditAction.CASE_RECORD_OPENED,
            object_type="case",
            object_id=case.id,
            case_id=case.id,
            school_id=school_id,
        ),
    )


def openable_teams(ctx: ServiceContext) -> list[tuple[int, int, str]]:
    """(team id, school id, "Team — School") pairs the actor may open a case for."""
    access = access_for(ctx)
    found = []
    for team_id in sorted(access.actor.team_ids):
        team = accounts_repo.team(ctx.db, team_id)
        if team is None or not team.is_active:
            continue
        school_ids = frozenset(s.id for s in team.schools)
        for school in team.schools:
            if policy.allowed(access, Act.OPEN_CASE, TeamFacts(school.id, team_id, school_ids)):
                found.append((team_id, school.id, f"{team.name} — {school.name}"))
    return found
