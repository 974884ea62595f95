"""A person's record and earlier cases, as far as the policy allows."""

from __future__ import annotations

from btam.access import policy
from btam.access.policy import Act
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.audit.actions import AuditAction
from btam.cases import repository as case_repo
from btam.cases.services.guard import access_for
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext
from btam.errors import ValidationFailed
from btam.people import dto, repository
from btam.people.services.disclosures import disclosure_views
from btam.people.services.matching import (
    STUDENT_NUMBER_MAX,
    PersonData,
    indexes_of,
    ruled_out,
    same_person,
)
from btam.people.services.merging import duplicates_of
from btam.people.terms import Part


def search_people(ctx: ServiceContext, data: PersonData) -> list[dto.PersonMatch]:
    """Earlier records of a person, among those the actor may see; the query is not logged."""
    access = access_for(ctx)
    if not policy.allowed(access, Act.SEARCH_PEOPLE, None):
        refuse(ctx, object_type="person_search", object_id="people", reason="role", hide=False)
    clean = PersonData(
        kind=data.kind,
        given_name=data.given_name.strip(),
        family_name=data.family_name.strip(),
        date_of_birth=data.date_of_birth,
        student_number=data.student_number.strip()[:STUDENT_NUMBER_MAX],
    )
    by_number, by_name = indexes_of(ctx, clean)
    if by_number is None and by_name is None:
        raise ValidationFailed(
            "Give a student id, or a name with a date of birth.", field="student_number"
        )
    matches = []
    for person in repository.people_by_index(
        ctx.db,
        access,
        student_id_index=by_number,
        name_dob_index=by_name,
        keep=lambda candidate: not ruled_out(candidate, (by_number, by_name)),
    ):
        if not same_person(person, clean, any_kind=True):
            continue
        matches.append(
            dto.PersonMatch(
                id=person.id,
                name=person.full_name,
                kind=person.kind,
                date_of_birth=person.date_of_birth,
                cases=_case_list(ctx, person.id),
            )
        )
    ctx.record(
        AuditAction.PERSON_SEARCH_RUN, object_type="person_search", purpose=f"{len(matches)} found"
    )
    return matches


def _case_list(ctx: ServiceContext, person_id: int) -> list[tuple[str, Part, CaseStatus]]:
    access = access_for(ctx)
    return [
        (c.number, p.part, c.status)
        for c, p in repository.cases_of_person(ctx.db, access, person_id)
    ]


# A kept record may be merged again later; a chain is followed this far at most.
MAX_MERGE_HOPS = 8


def _kept_id(ctx: ServiceContext, person_id: int) -> int:
    """The record to show for ``person_id``: itself, or the one a merged record points to."""
    row = repository.any_person(ctx.db, person_id)
    for _hop in range(MAX_MERGE_HOPS):
        if row is None or row.merged_into_id is None:
            break
        row = repository.any_person(ctx.db, row.merged_into_id)
    return row.id if row is not None else person_id


def view_person(ctx: ServiceContext, person_id: int) -> dto.PersonView:
    """The person's record: all of it to the team, the record of disclosures to auditors.

    A record merged into another shows the kept one, if the actor may see that.

    :raises NotFound: the person (or the record it was merged into) is not visible to the
        actor (recorded).
    """
    access = access_for(ctx)
    asked = person_id
    person_id = _kept_id(ctx, person_id)
    merged_from = asked if asked != person_id else None
    person = repository.person(ctx.db, access, person_id)
    full = person is not None
    if person is None:
        person = repository.person(ctx.db, access, person_id, for_disclosures=True)
    if person is None:
        refuse(ctx, object_type="person", object_id=asked, reason="not visible")
    ctx.record(
        AuditAction.PERSON_RECORD_VIEWED if full else AuditAction.PERSON_DISCLOSURES_VIEWED,
        object_type="person",
        object_id=person.id,
    )
    school = accounts_repo.school(ctx.db, person.school_id)
    rows = repository.disclosures_of(ctx.db, person.id)
    if not full:
        disclosures = disclosure_views(ctx, rows)
        return dto.PersonView(
            id=person.id,
            kind=person.kind,
            name=None,
            date_of_birth=None,
            student_number=None,
            school=school.name if school else None,
            disclosures=disclosures,
            merged_from=merged_from,
        )
    cases = repository.cases_of_person(ctx.db, access, person.id)
    readable = {c.id for c, _ in cases}
    disclosures = disclosure_views(ctx, rows, readable_cases=readable)
    # The facts of every case at once: one decision per case, not a query per case.
    may_record = any(
        policy.allowed(access, Act.RECORD_DISCLOSURE, facts)
        for facts in case_repo.facts_of_cases(ctx.db, [c for c, _ in cases]).values()
    )
    return dto.PersonView(
        id=person.id,
        kind=person.kind,
        name=person.full_name,
        date_of_birth=person.date_of_birth,
        student_number=person.student_number,
        school=school.name if school else None,
        cases=_case_list(ctx, person.id),
        disclosures=disclosures,
        can_record_disclosure=may_record,
        duplicates=duplicates_of(ctx, person.id),
        merged_from=merged_from,
    )
