"""The team's records on a case: summary, people, notes and attachments."""

from __future__ import annotations

from btam.access.policy import RECORD_CLASS_READERS, Access, Act
from btam.access.record_classes import RecordClass
from btam.access.refusal import refuse
from btam.audit.actions import AuditAction
from btam.cases import repository
from btam.cases.lifecycle import CaseChange
from btam.cases.models import Attachment, CaseParty, Note
from btam.cases.services.guard import load_case
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.files import Download, check_file
from btam.people.services.matching import PersonData, find_or_create_person
from btam.people.terms import Part
from btam.text import clean_text

SUMMARY_MAX = 20_000
NOTE_MAX = 50_000
SUMMARY_FOR_TEAM_MAX = 5_000
FILENAME_MAX = 200


def update_summary(ctx: ServiceContext, number: str, *, summary: str) -> Staged[None]:
    """Replace the case's summary.

    :raises NotFound, AccessDenied, CaseClosed, ValidationFailed: see ``load_case``; empty or
        too long.
    """
    loaded = load_case(ctx, number, Act.EDIT_CASE, change=CaseChange.RECORDS)
    loaded.case.summary = clean_text(summary, limit=SUMMARY_MAX, field="summary", required=True)
    return staged(None, loaded.event(AuditAction.CASE_RECORD_UPDATED, purpose="summary"))


def add_party(ctx: ServiceContext, number: str, *, part: Part, person: PersonData) -> Staged[None]:
    """Add a person to the case in ``part`` (found again by blind index, or new).

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    :raises ValidationFailed: the person is not named well enough, or already has that part.
    """
    loaded = load_case(ctx, number, Act.EDIT_CASE, change=CaseChange.RECORDS)
    case = loaded.case
    found = find_or_create_person(ctx, person, district_id=case.district_id)
    exists = any(
        p.person_id == found.id and p.part is part for p, _ in repository.parties(ctx.db, case.id)
    )
    if exists:
        raise ValidationFailed("This person already has that part in the case.", field="part")
    ctx.db.add(CaseParty(case_id=case.id, person_id=found.id, part=part, added_at=ctx.now))
    return staged(
        None,
        loaded.event(
            AuditAction.CASE_PARTY_ADDED,
            object_type="person",
            object_id=found.id,
            purpose=part.value,
        ),
    )


def check_may_file(access: Access, record_class: RecordClass) -> None:
    """Counseling and law-enforcement records are written by their own discipline only.

    :raises ValidationFailed: the actor's discipline does not file records of that class.
    """
    readers = RECORD_CLASS_READERS[record_class]
    if readers is not None and access.actor.discipline not in readers:
        raise ValidationFailed(
            "Only a member of that discipline files records of this class.", field="record_class"
        )


def add_note(
    ctx: ServiceContext,
    number: str,
    *,
    record_class: RecordClass,
    body: str,
    team_summary: str | None = None,
) -> Staged[None]:
    """Add a note; counseling and law-enforcement notes may carry a summary for the team.

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    :raises ValidationFailed: empty or too long, or a class the actor does not file.
    """
    loaded = load_case(ctx, number, Act.EDIT_CASE, change=CaseChange.RECORDS)
    check_may_file(loaded.access, record_class)
    text = clean_text(body, limit=NOTE_MAX, field="body", required=True)
    shared = None
    if record_class is not RecordClass.EDUCATION:
        shared = clean_text(team_summary, limit=SUMMARY_FOR_TEAM_MAX, field="team_summary")
    note = Note(
        case_id=loaded.case.id,
        author_id=loaded.access.actor.user_id,
        record_class=record_class,
        body=text,
        team_summary=shared,
        created_at=ctx.now,
    )
    ctx.db.add(note)
    ctx.db.flush()
    return staged(
        None,
        loaded.event(
            AuditAction.CASE_NOTE_ADDED,
            object_type="note",
            object_id=note.id,
            purpose=record_class.value,
        ),
    )


def add_attachment(
    ctx: ServiceContext,
    number: str,
    *,
    record_class: RecordClass,
    filename: str,
    content_type: str,
    data: bytes,
) -> Staged[None]:
    """Attach a file (PDF, PNG, JPEG or plain text, up to 10 MiB), stored encrypted.

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    :raises ValidationFailed: a file of another type, empty, too large or not what it says.
    """
    loaded = load_case(ctx, number, Act.EDIT_CASE, change=CaseChange.RECORDS)
    check_may_file(loaded.access, record_class)
    name = clean_text(
        filename.replace("\\", "/").rsplit("/", 1)[-1],
        limit=FILENAME_MAX,
        field="file",
        required=True,
    )
    check_file(content_type, data)
    attachment = Attachment(
        case_id=loaded.case.id,
        author_id=loaded.access.actor.user_id,
        record_class=record_class,
        filename=name,
        content_type=content_type,
        created_at=ctx.now,
    )
    attachment.content = data
    ctx.db.add(attachment)
    ctx.db.flush()
    return staged(
        None,
        loaded.event(
            AuditAction.CASE_ATTACHMENT_ADDED,
            object_type="attachment",
            object_id=attachment.id,
            purpose=record_class.value,
        ),
    )


def download_attachment(ctx: ServiceContext, number: str, attachment_id: int) -> Download:
    """A file of the case the actor may read; the download is recorded before it is given.

    :raises NotFound: the case or the file is not readable to the actor (recorded).
    """
    loaded = load_case(ctx, number, Act.VIEW_CASE, scope=Act.VIEW_CASE)
    case = loaded.case
    found = repository.attachment(ctx.db, loaded.access, case.id, attachment_id)
    if found is None:
        refuse(
            ctx,
            object_type="attachment",
            object_id=attachment_id,
            reason="not readable",
            case_id=case.id,
            school_id=case.school_id,
        )
    ctx.record(
        AuditAction.CASE_ATTACHMENT_DOWNLOADED,
        object_type="attachment",
        object_id=found.id,
        case_id=case.id,
        school_id=case.school_id,
    )
    return Download(found.filename or "attachment", found.content_type, found.content)
