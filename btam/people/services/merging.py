"""Merging a duplicate person into another record, and finding the duplicates to merge.

Matching is confined to the people an actor may see, so two teams that meet the same student
each record their own person. The team lead, or a team member whose scope is the whole
district, who sees both merges them: found by the same blind index, confirmed by decrypting.
The kept record takes the other's parts in cases, its reports and mentions, and its record of
disclosures (re-encrypted under the kept person's key); the merged record keeps only a
tombstone that points to the kept one.
"""

from __future__ import annotations

from btam.access import policy
from btam.access.policy import Access, Act
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.cases.services.guard import access_for
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.people import dto, repository
from btam.people.models import Person
from btam.people.services.matching import data_of, indexes_of, ruled_out, same_person

NOT_THE_SAME = "These records do not name the same person: nothing was merged."

# The person's own fields, copied to the kept record where it has none.
_FIELDS = ("given_name", "family_name", "date_of_birth_text", "student_number")

# The texts of a disclosure, re-encrypted under the kept person's key.
_DISCLOSURE_TEXTS = ("recipient", "interest", "threat", "parties")


def check_may_merge(ctx: ServiceContext, person_id: int) -> Access:
    """The actor's access, if its role and scope let it merge people at all.

    :raises AccessDenied: neither a team lead nor a district-wide team member (recorded).
    """
    access = access_for(ctx)
    decision = policy.allowed(access, Act.MERGE_PEOPLE, None)
    if not decision:
        refuse(ctx, object_type="person", object_id=person_id, reason=decision.reason, hide=False)
    return access


def _shares_an_index(one: Person, other: Person) -> bool:
    return bool(
        (one.student_id_index and one.student_id_index == other.student_id_index)
        or (one.name_dob_index and one.name_dob_index == other.name_dob_index)
    )


def _duplicates(ctx: ServiceContext, access: Access, person: Person) -> list[Person]:
    data = data_of(person)
    indexes = (person.student_id_index, person.name_dob_index)
    return [
        other
        for other in repository.people_by_index(
            ctx.db,
            access,
            student_id_index=person.student_id_index,
            name_dob_index=person.name_dob_index,
            keep=lambda other: other.id != person.id and not ruled_out(other, indexes),
        )
        if same_person(other, data)
    ]


def duplicates_of(ctx: ServiceContext, person_id: int) -> list[dto.PersonMatch]:
    """Other records of the same person the actor may see and merge into this one (none when
    it may not merge); read as part of the person's page, which is audited."""
    access = access_for(ctx)
    if not policy.allowed(access, Act.MERGE_PEOPLE, None):
        return []
    person = repository.person(ctx.db, access, person_id)
    if person is None or person.merged_into_id is not None:
        return []
    return [
        dto.PersonMatch(
            id=other.id,
            name=other.full_name,
            kind=other.kind,
            date_of_birth=other.date_of_birth,
            cases=[
                (c.number, p.part, c.status)
                for c, p in repository.cases_of_person(ctx.db, access, other.id)
            ],
            school=(s.name if (s := accounts_repo.school(ctx.db, other.school_id)) else None),
        )
        for other in _duplicates(ctx, access, person)
    ]


def merge_people(ctx: ServiceContext, *, keep_id: int, merge_id: int) -> Staged[int]:
    """Merge the person ``merge_id`` into ``keep_id``; the value is the kept person's id.

    :raises AccessDenied: the actor is neither a team lead nor a district-wide team member
        (recorded).
    :raises NotFound: either person is not visible to the actor, or was merged already
        (recorded; the same answer as for a person that does not exist).
    :raises ValidationFailed: the same record twice, or records that do not share a blind
        index value and confirm by decrypting.
    """
    access = check_may_merge(ctx, keep_id)
    keep = _mergeable(ctx, access, keep_id)
    merged = _mergeable(ctx, access, merge_id)
    if keep.id == merged.id:
        raise ValidationFailed("Choose another record of the same person.")
    if not _shares_an_index(keep, merged) or not same_person(merged, data_of(keep)):
        raise ValidationFailed(NOT_THE_SAME)
    _move_parties(ctx, keep, merged)
    _move_reports(ctx, keep, merged)
    _move_disclosures(ctx, keep, merged)
    _complete(ctx, keep, merged)
    merged.merged_into_id = keep.id
    merged.merged_at = ctx.now
    merged.merged_by = access.actor.user_id
    ctx.db.flush()
    return staged(
        keep.id,
        AuditEvent(
            AuditAction.PERSON_RECORD_MERGED,
            object_type="person",
            object_id=merged.id,
            purpose=f"merged into person {keep.id}",
        ),
    )


def _mergeable(ctx: ServiceContext, access: Access, person_id: int) -> Person:
    found = repository.person(ctx.db, access, person_id)
    if found is None or found.merged_into_id is not None:
        refuse(ctx, object_type="person", object_id=person_id, reason="not visible")
    return found


def _move_parties(ctx: ServiceContext, keep: Person, merged: Person) -> None:
    held = {(p.case_id, p.part) for p in repository.parties_of(ctx.db, keep.id)}
    for party in repository.parties_of(ctx.db, merged.id):
        if (party.case_id, party.part) in held:
            ctx.db.delete(party)  # the kept person already plays that part in that case
        else:
            party.person_id = keep.id
            held.add((party.case_id, party.part))


def _move_reports(ctx: ServiceContext, keep: Person, merged: Person) -> None:
    held = {(link.report_id, link.part) for link in repository.report_links_of(ctx.db, keep.id)}
    for link in repository.report_links_of(ctx.db, merged.id):
        if (link.report_id, link.part) in held:
            ctx.db.delete(link)
        else:
            link.person_id = keep.id
            held.add((link.report_id, link.part))
    for mention in repository.mentions_of(ctx.db, merged.id):
        mention.person_id = keep.id


def _move_disclosures(ctx: ServiceContext, keep: Person, merged: Person) -> None:
    for disclosure in repository.disclosures_of(ctx.db, merged.id):
        # Read under the merged person's key before the row changes scope, then assigned
        # again so that the flush encrypts them under the kept person's key.
        texts = {name: getattr(disclosure, name) for name in _DISCLOSURE_TEXTS}
        disclosure.person_id = keep.id
        for name, text in texts.items():
            setattr(disclosure, name, text)


def _complete(ctx: ServiceContext, keep: Person, merged: Person) -> None:
    """What the kept record lacks, from the merged one; the merged one keeps no field."""
    for name in _FIELDS:
        if getattr(keep, name) is None and getattr(merged, name) is not None:
            setattr(keep, name, getattr(merged, name))
    if keep.school_id is None:
        keep.school_id = merged.school_id
    keep.student_id_index, keep.name_dob_index = indexes_of(ctx, data_of(keep))
    for name in _FIELDS:
        setattr(merged, name, None)
    merged.student_id_index = merged.name_dob_index = None
