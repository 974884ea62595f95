"""People: found again by blind index, shown as far as the policy allows, and the record of
disclosures kept with each person's record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from btam.audit.actions import AuditAction
from btam.cases import dto, repository
from btam.cases.models import Disclosure, Person
from btam.cases.services.access import access_for, refuse
from btam.cases.terms import CaseStatus, DisclosureBasis, Part, PersonKind
from btam.errors import ValidationFailed
from btam.security import policy
from btam.security.blind_index import normalize
from btam.security.keys import person_indexes
from btam.security.policy import Act
from btam.services import ServiceContext

NAME_MAX = 100
STUDENT_NUMBER_MAX = 32
TEXT_MAX = 2_000
WITHHELD = "Made from a case you may not see; the auditors see the details."


@dataclass(frozen=True)
class PersonData:
    """A person as typed into a form; ``person_id`` picks an existing person instead."""

    kind: PersonKind
    given_name: str = ""
    family_name: str = ""
    date_of_birth: date | None = None
    student_number: str = ""
    school_id: int | None = None
    person_id: int | None = None


def _checked(data: PersonData) -> PersonData:
    given = data.given_name.strip()
    family = data.family_name.strip()
    number = data.student_number.strip()
    if not given and not family and not number:
        raise ValidationFailed("Give at least one name.", field="family_name")
    if len(given) > NAME_MAX or len(family) > NAME_MAX:
        raise ValidationFailed(f"Names are at most {NAME_MAX} characters.", field="family_name")
    if len(number) > STUDENT_NUMBER_MAX:
        raise ValidationFailed("That student id is too long.", field="student_number")
    if number and data.kind is not PersonKind.STUDENT:
        raise ValidationFailed("Only students have a student id.", field="student_number")
    if (
        data.date_of_birth is not None
        and not date(1900, 1, 1) <= data.date_of_birth <= date.today()
    ):
        raise ValidationFailed("Give a real date of birth.", field="date_of_birth")
    return PersonData(
        kind=data.kind,
        given_name=given,
        family_name=family,
        date_of_birth=data.date_of_birth,
        student_number=number,
        school_id=data.school_id,
    )


def _indexes(ctx: ServiceContext, data: PersonData) -> tuple[str | None, str | None]:
    indexes = person_indexes(ctx.db)
    by_number = indexes.student_id_index(data.student_number) if data.student_number else None
    by_name = None
    if data.date_of_birth is not None and (data.given_name or data.family_name):
        by_name = indexes.name_dob_index(
            given_name=data.given_name,
            family_name=data.family_name,
            date_of_birth=data.date_of_birth,
        )
    return by_number, by_name


def _same_person(person: Person, data: PersonData, *, any_kind: bool = False) -> bool:
    """Confirm a blind-index candidate by decrypting it: the index alone proves nothing."""
    if not any_kind and person.kind is not data.kind:
        return False
    if data.student_number and person.student_number:
        return normalize(person.student_number) == normalize(data.student_number)
    return (
        data.date_of_birth is not None
        and person.date_of_birth == data.date_of_birth
        and normalize(person.given_name or "") == normalize(data.given_name)
        and normalize(person.family_name or "") == normalize(data.family_name)
    )


def find_or_create_person(ctx: ServiceContext, data: PersonData, *, district_id: int) -> Person:
    """The person ``data`` names: chosen by id (if visible), found by blind index, or new.

    The caller commits (with its audit entry).
    """
    access = access_for(ctx)
    if data.person_id is not None:
        found = repository.person(ctx.db, access, data.person_id)
        if found is None:
            refuse(ctx, object_type="person", object_id=data.person_id, reason="not visible")
        return found
    clean = _checked(data)
    by_number, by_name = _indexes(ctx, clean)
    for candidate in repository.candidates(
        ctx.db, district_id=district_id, student_id_index=by_number, name_dob_index=by_name
    ):
        if _same_person(candidate, clean):
            return candidate
    if not clean.given_name and not clean.family_name:
        # A student id alone finds a known student; a new person needs a name.
        raise ValidationFailed(
            "No student with that id is known yet: give the person's name too.",
            field="family_name",
        )
    person = Person(
        district_id=district_id,
        kind=clean.kind,
        school_id=clean.school_id,
        given_name=clean.given_name or None,
        family_name=clean.family_name or None,
        date_of_birth_text=clean.date_of_birth.isoformat() if clean.date_of_birth else None,
        student_number=clean.student_number or None,
        student_id_index=by_number,
        name_dob_index=by_name,
        created_at=ctx.now,
    )
    ctx.db.add(person)
    ctx.db.flush()
    return person


def party_views(ctx: ServiceContext, case_id: int) -> list[dto.PartyView]:
    return [
        dto.PartyView(person_id=person.id, name=person.full_name, kind=person.kind, part=party.part)
        for party, person in repository.parties(ctx.db, case_id)
    ]


def search_people(ctx: ServiceContext, data: PersonData) -> list[dto.PersonMatch]:
    """Earlier records of a person, among those the actor may see; the query is not logged."""
    access = access_for(ctx)
    if not policy.can(access, Act.SEARCH_PEOPLE, None):
        refuse(ctx, object_type="person_search", object_id="people", reason="role", hide=False)
    clean = PersonData(
        kind=data.kind,
        given_name=data.given_name.strip(),
        family_name=data.family_name.strip(),
        date_of_birth=data.date_of_birth,
        student_number=data.student_number.strip()[:STUDENT_NUMBER_MAX],
    )
    by_number, by_name = _indexes(ctx, clean)
    if by_number is None and by_name is None:
        raise ValidationFailed(
            "Give a student id, or a name with a date of birth.", field="student_number"
        )
    matches = []
    for person in repository.people_by_index(
        ctx.db, access, student_id_index=by_number, name_dob_index=by_name
    ):
        if not _same_person(person, clean, any_kind=True):
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


def view_person(ctx: ServiceContext, person_id: int) -> dto.PersonView:
    """The person's record: all of it to the team, the record of disclosures to auditors."""
    access = access_for(ctx)
    person = repository.person(ctx.db, access, person_id)
    full = person is not None
    if person is None:
        person = repository.person(ctx.db, access, person_id, for_disclosures=True)
    if person is None:
        refuse(ctx, object_type="person", object_id=person_id, reason="not visible")
    ctx.record(
        AuditAction.PERSON_RECORD_VIEWED if full else AuditAction.PERSON_DISCLOSURES_VIEWED,
        object_type="person",
        object_id=person.id,
    )
    school = repository.school(ctx.db, person.school_id)
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
        )
    readable = {c.id for c, _ in repository.cases_of_person(ctx.db, access, person.id)}
    disclosures = disclosure_views(ctx, rows, readable_cases=readable)
    may_record = any(
        policy.can(access, Act.RECORD_DISCLOSURE, repository.facts(ctx.db, c))
        for c, _ in repository.cases_of_person(ctx.db, access, person.id)
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
    )


def disclosure_views(
    ctx: ServiceContext, items: Sequence[Disclosure], *, readable_cases: set[int] | None = None
) -> list[dto.DisclosureView]:
    """The disclosures as shown; with ``readable_cases``, the details of a disclosure made
    from a case outside that set (another team's emergency, say) are withheld."""
    names = {
        i: u.display_name
        for i in {d.recorded_by for d in items if d.recorded_by}
        if (u := repository.user(ctx.db, i)) is not None
    }
    numbers = repository.case_numbers(ctx.db, (d.case_id for d in items if d.case_id))
    views = []
    for d in items:
        hidden = (
            readable_cases is not None
            and d.case_id is not None
            and (d.case_id not in readable_cases)
        )
        views.append(
            dto.DisclosureView(
                id=d.id,
                person_id=d.person_id,
                case_number=None if hidden or not d.case_id else numbers.get(d.case_id),
                disclosed_at=d.disclosed_at,
                basis=d.basis,
                recipient=d.recipient or "",
                interest=WITHHELD if hidden else d.interest,
                threat=None if hidden else d.threat,
                parties=None if hidden else d.parties,
                is_emergency=d.is_emergency,
                recorded_by=names.get(d.recorded_by) if d.recorded_by else None,
            )
        )
    return views


def record_disclosure(
    ctx: ServiceContext,
    person_id: int,
    *,
    basis: DisclosureBasis,
    recipient: str,
    interest: str,
    disclosed_at: datetime,
    case_number: str | None = None,
) -> None:
    """Add an entry to the person's record of disclosures (34 CFR 99.32)."""
    access = access_for(ctx)
    person = repository.person(ctx.db, access, person_id)
    if person is None:
        refuse(ctx, object_type="person", object_id=person_id, reason="not visible")
    cases = [c for c, _ in repository.cases_of_person(ctx.db, access, person.id)]
    allowed = [
        c for c in cases if policy.can(access, Act.RECORD_DISCLOSURE, repository.facts(ctx.db, c))
    ]
    if not allowed:
        refuse(
            ctx,
            object_type="person",
            object_id=person_id,
            reason="may not record disclosures",
            hide=False,
        )
    case = None
    if case_number:
        case = next((c for c in allowed if c.number == case_number), None)
        if case is None:
            raise ValidationFailed("Choose one of this person's cases.", field="case_number")
    who = (recipient or "").strip()
    why = (interest or "").strip()
    if not who or len(who) > TEXT_MAX:
        raise ValidationFailed("Name the recipient (at most 2,000 characters).", field="recipient")
    if not why or len(why) > TEXT_MAX:
        raise ValidationFailed(
            "State the legitimate interest or legal basis (at most 2,000 characters).",
            field="interest",
        )
    if disclosed_at > ctx.now:
        raise ValidationFailed("A disclosure cannot be in the future.", field="disclosed_on")
    row = Disclosure(
        person_id=person.id,
        case_id=case.id if case else None,
        disclosed_at=disclosed_at,
        basis=basis,
        recipient=who,
        interest=why,
        recorded_by=access.actor.user_id,
        is_emergency=basis is DisclosureBasis.HEALTH_SAFETY_EMERGENCY,
    )
    ctx.db.add(row)
    ctx.db.flush()
    ctx.commit_with_audit(
        AuditAction.PERSON_DISCLOSURE_RECORDED,
        object_type="disclosure",
        object_id=row.id,
        case_id=case.id if case else None,
        school_id=case.school_id if case else None,
        purpose=basis.value,
    )


def list_disclosures(ctx: ServiceContext) -> list[dto.DisclosureView]:
    """Every disclosure the actor may review, newest first (auditors: the whole district)."""
    access = access_for(ctx)
    if not policy.can(access, Act.VIEW_DISCLOSURES, None):
        refuse(ctx, object_type="disclosures", object_id="all", reason="role", hide=False)
    rows = repository.all_disclosures(ctx.db, access)
    ctx.record(
        AuditAction.PERSON_DISCLOSURES_VIEWED,
        object_type="disclosures",
        purpose=f"{len(rows)} shown",
    )
    return disclosure_views(ctx, rows)
