"""Closed-loop referrals: drafted with the parent's consent or a legal basis, sent (a referral
outside the school writes its record of disclosure in the same transaction), followed up until
the service happened or the reason it did not is recorded, and printed as a letter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from btam.access.policy import Act
from btam.access.record_classes import RecordClass
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.audit.actions import AuditAction
from btam.cases import repository as case_repo
from btam.cases.lifecycle import CaseChange
from btam.cases.models import Case
from btam.cases.services.guard import CaseInScope, access_for, load_case
from btam.cases.services.records import check_may_file
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.people.services.disclosures import stage_disclosure
from btam.people.terms import DisclosureBasis, Part
from btam.plans import referral_dto as dto
from btam.plans import referral_lifecycle as lifecycle
from btam.plans import referral_repository as repository
from btam.plans.referral_models import Referral, ReferralStep
from btam.plans.referral_terms import (
    LEGAL_BASES,
    Consent,
    Destination,
    ReferralMove,
    ReferralStatus,
)
from btam.plans.services.calendar import today
from btam.text import clean_text

TEXT_MAX = 2_000
SHORT_MAX = 500


@dataclass(frozen=True)
class ConsentData:
    """The parent's consent as typed: obtained (naming records, purpose, recipient, with its
    date), not needed (with the legal basis chosen and why), or refused."""

    consent: Consent
    records: str = ""
    purpose: str = ""
    recipient: str = ""
    given_on: date | None = None
    legal_basis: DisclosureBasis | None = None
    basis_statement: str = ""


@dataclass(frozen=True)
class ReferralData:
    person_id: int | None
    destination: Destination
    agency: str
    contact: str
    reason: str
    consent: ConsentData
    follow_up_on: date | None = None
    record_class: RecordClass = RecordClass.EDUCATION


def _referring(ctx: ServiceContext, number: str) -> CaseInScope:
    return load_case(ctx, number, Act.REFER, change=CaseChange.PLAN)


def _apply_consent(ctx: ServiceContext, row: Referral, data: ConsentData) -> None:
    """Check the consent as typed and put it on the referral (clearing what does not apply).

    :raises ValidationFailed: a part of the consent, or the legal basis, is missing or wrong.
    """
    row.consent = data.consent
    row.consent_records = row.consent_purpose = row.consent_recipient = None
    row.consent_on = None
    row.legal_basis = None
    row.basis_statement = None
    if data.consent is Consent.OBTAINED:
        row.consent_records = clean_text(
            data.records, field="consent_records", limit=TEXT_MAX, required=True
        )
        row.consent_purpose = clean_text(
            data.purpose, field="consent_purpose", limit=TEXT_MAX, required=True
        )
        row.consent_recipient = clean_text(
            data.recipient, field="consent_recipient", limit=SHORT_MAX, required=True
        )
        if data.given_on is None:
            raise ValidationFailed("Give the date of the written consent.", field="consent_on")
        if data.given_on > today(ctx):
            raise ValidationFailed("Consent cannot be dated in the future.", field="consent_on")
        row.consent_on = data.given_on
    elif data.consent is Consent.NOT_NEEDED:
        if data.legal_basis not in LEGAL_BASES:
            raise ValidationFailed(
                "Choose the legal basis that makes consent unnecessary.", field="legal_basis"
            )
        row.legal_basis = data.legal_basis
        row.basis_statement = clean_text(
            data.basis_statement, field="basis_statement", limit=TEXT_MAX, required=True
        )


def _party_person(ctx: ServiceContext, case: Case, person_id: int | None) -> int:
    """The person referred: one of the case's people (its subject when none is named).

    :raises ValidationFailed: the person is not one of the case's people.
    """
    parties = case_repo.parties(ctx.db, case.id)
    if person_id is None:
        subjects = [p.person_id for p, _person in parties if p.part is Part.SUBJECT]
        if not subjects:
            raise ValidationFailed("Name the person referred.", field="person_id")
        return subjects[0]
    if person_id not in {p.person_id for p, _person in parties}:
        raise ValidationFailed("Choose one of the case's people.", field="person_id")
    return person_id


def _check_follow_up(ctx: ServiceContext, day: date | None, *, required: bool) -> None:
    if day is None:
        if required:
            raise ValidationFailed("Give the next follow-up date.", field="follow_up_on")
        return
    if day < today(ctx):
        raise ValidationFailed("A follow-up date cannot be in the past.", field="follow_up_on")


def draft_referral(ctx: ServiceContext, number: str, data: ReferralData) -> Staged[int]:
    """Draft a referral of one of the case's people, with its consent or legal basis.

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    :raises ValidationFailed: a field is missing or too long, the person is not the case's,
        the consent is incomplete, the follow-up date is past.
    """
    loaded = _referring(ctx, number)
    case = loaded.case
    actor = loaded.access.actor
    _check_follow_up(ctx, data.follow_up_on, required=True)
    check_may_file(loaded.access, data.record_class)
    row = Referral(
        case_id=case.id,
        person_id=_party_person(ctx, case, data.person_id),
        destination=data.destination,
        agency=clean_text(data.agency, field="agency", limit=SHORT_MAX, required=True),
        contact=clean_text(data.contact, field="contact", limit=SHORT_MAX),
        reason=clean_text(data.reason, field="reason", limit=TEXT_MAX, required=True),
        record_class=data.record_class,
        status=ReferralStatus.DRAFTED,
        follow_up_on=data.follow_up_on,
        author_id=actor.user_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    _apply_consent(ctx, row, data.consent)
    ctx.db.add(row)
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.CASE_REFERRAL_DRAFTED,
            object_type="referral",
            object_id=row.id,
            purpose=f"{data.destination.value}, consent {data.consent.consent.value}",
        ),
    )


def _load_referral(ctx: ServiceContext, loaded: CaseInScope, referral_id: int) -> Referral:
    row = repository.referral(ctx.db, loaded.access, loaded.case.id, referral_id)
    if row is None:
        refuse(
            ctx,
            object_type="referral",
            object_id=referral_id,
            reason="not readable",
            case_id=loaded.case.id,
            school_id=loaded.case.school_id,
        )
    return row


def record_consent(
    ctx: ServiceContext, number: str, referral_id: int, consent: ConsentData
) -> Staged[None]:
    """Record the parent's consent (or the legal basis, or a refusal) on a drafted referral.

    :raises NotFound: the referral is not one the actor may read on this case (recorded).
    :raises AccessDenied, CaseClosed: see ``load_case``.
    :raises ValidationFailed: the referral was already sent, or the consent is incomplete.
    """
    loaded = _referring(ctx, number)
    row = _load_referral(ctx, loaded, referral_id)
    if row.status is not ReferralStatus.DRAFTED:
        raise ValidationFailed(
            "The referral was sent with the consent it had; draft a new one.", field="consent"
        )
    _apply_consent(ctx, row, consent)
    row.updated_at = ctx.now
    ctx.db.flush()
    return staged(
        None,
        loaded.event(
            AuditAction.CASE_REFERRAL_CONSENT_RECORDED,
            object_type="referral",
            object_id=row.id,
            purpose=f"consent {consent.consent.value}",
        ),
    )


def _disclosure_terms(row: Referral) -> tuple[DisclosureBasis, str]:
    """The basis and the stated interest of a referral's disclosure: the consent or the legal
    basis actually chosen.

    :raises ValidationFailed: neither consent nor a lawful basis is recorded.
    """
    if row.consent is Consent.OBTAINED and row.consent_on is not None:
        interest = (
            f"Referral for services ({row.destination.label}). Written consent of "
            f"{row.consent_on.isoformat()} for: {row.consent_purpose}. Records: "
            f"{row.consent_records}. Recipient named: {row.consent_recipient}."
        )
        return DisclosureBasis.PARENT_CONSENT, interest
    if row.consent is Consent.NOT_NEEDED and row.legal_basis is not None:
        interest = f"Referral ({row.destination.label}): {row.basis_statement}"
        return row.legal_basis, interest
    if row.consent is Consent.REFUSED:
        raise ValidationFailed(
            "The parent refused consent: record a legal basis that allows the referral "
            "without it, or keep it inside the school.",
            field="move",
        )
    raise ValidationFailed(
        "Record the parent's consent or the legal basis before sending.", field="move"
    )


def move_referral(
    ctx: ServiceContext,
    number: str,
    referral_id: int,
    *,
    move: ReferralMove,
    note: str = "",
    follow_up_on: date | None = None,
    at: datetime | None = None,
) -> Staged[ReferralStatus]:
    """Take one step of a referral's life; sending it outside the school records the
    disclosure (34 CFR 99.32) in the same transaction, on the consent or basis chosen.

    :raises NotFound: the referral is not one the actor may read on this case (recorded).
    :raises AccessDenied, CaseClosed: see ``load_case``.
    :raises InvalidReferralMove: the step is not allowed from the referral's status.
    :raises ValidationFailed: a reason missing where the service did not happen, a follow-up
        date missing while it stays open, no consent or lawful basis for sending outside.
    """
    loaded = _referring(ctx, number)
    row = _load_referral(ctx, loaded, referral_id)
    before = row.status
    after = lifecycle.next_status(before, move)
    text = clean_text(note, field="note", limit=TEXT_MAX, required=move in lifecycle.NEEDS_REASON)
    _check_follow_up(ctx, follow_up_on, required=lifecycle.needs_follow_up(after))
    when = at or ctx.now
    if when > ctx.now:
        raise ValidationFailed("A step cannot be dated in the future.", field="at_on")
    change: Staged[ReferralStatus] = staged(after)
    if move is ReferralMove.SEND:
        row.sent_at = when
        if row.destination.outside_school:
            basis, interest = _disclosure_terms(row)
            recipient = row.agency or ""
            if row.contact:
                recipient = f"{recipient} — {row.contact}"
            disclosed = stage_disclosure(
                ctx,
                person_id=row.person_id,
                case=loaded.case,
                basis=basis,
                recipient=recipient,
                interest=interest,
                disclosed_at=when,
                threat=row.basis_statement
                if basis is DisclosureBasis.HEALTH_SAFETY_EMERGENCY
                else None,
                parties=recipient if basis is DisclosureBasis.HEALTH_SAFETY_EMERGENCY else None,
            )
            change = change + disclosed
            row.disclosure_id = _staged_disclosure_id(disclosed)
    if move in {ReferralMove.COMPLETE, ReferralMove.START_SERVICE} and text:
        row.outcome = text
    if move in lifecycle.NEEDS_REASON:
        row.outcome = text
    row.status = after
    row.follow_up_on = follow_up_on
    row.updated_at = ctx.now
    ctx.db.add(
        ReferralStep(
            referral_id=row.id,
            case_id=row.case_id,
            move=move,
            from_status=before,
            to_status=after,
            note=text,
            follow_up_on=follow_up_on,
            taken_by=loaded.access.actor.user_id,
            taken_at=when,
        )
    )
    ctx.db.flush()
    event = loaded.event(
        AuditAction.CASE_REFERRAL_MOVED,
        object_type="referral",
        object_id=row.id,
        purpose=f"{before.value} -> {after.value}",
    )
    return Staged(after, (event, *change.events))


def _staged_disclosure_id(disclosed: Staged[None]) -> int | None:
    for event in disclosed.events:
        if event.object_type == "disclosure" and event.object_id is not None:
            return int(event.object_id)
    return None


def referral_views(
    ctx: ServiceContext, loaded: CaseInScope, names: dict[int, str], people: dict[int, str]
) -> list[dto.ReferralView]:
    """The case's referrals the viewer may read, with their history."""
    rows = repository.referrals(ctx.db, loaded.access, loaded.case.id)
    history = repository.steps(ctx.db, (r.id for r in rows))
    names = {
        **names,
        **accounts_repo.display_names(
            ctx.db, {r.author_id for r in rows} | {s.taken_by for s in history}
        ),
    }
    day = today(ctx)
    views = []
    for r in rows:
        views.append(
            dto.ReferralView(
                id=r.id,
                person=people.get(r.person_id, ""),
                destination=r.destination,
                agency=r.agency or "",
                contact=r.contact,
                reason=r.reason or "",
                record_class=r.record_class,
                consent=r.consent,
                consent_records=r.consent_records,
                consent_purpose=r.consent_purpose,
                consent_recipient=r.consent_recipient,
                consent_on=r.consent_on,
                legal_basis=r.legal_basis,
                basis_statement=r.basis_statement,
                status=r.status,
                follow_up_on=r.follow_up_on,
                overdue=_overdue(r, day),
                sent_at=r.sent_at,
                disclosed=r.disclosure_id is not None,
                outcome=r.outcome,
                author=names.get(r.author_id, ""),
                created_at=r.created_at,
                moves=lifecycle.moves_from(r.status),
                steps=[
                    dto.StepView(
                        move=s.move,
                        to_status=s.to_status,
                        note=s.note,
                        follow_up_on=s.follow_up_on,
                        taken_by=names.get(s.taken_by, ""),
                        taken_at=s.taken_at,
                    )
                    for s in history
                    if s.referral_id == r.id
                ],
            )
        )
    return views


def _overdue(row: Referral, day: date) -> bool:
    return row.status.open and row.follow_up_on is not None and row.follow_up_on < day


def referral_letter(ctx: ServiceContext, number: str, referral_id: int) -> dto.ReferralLetter:
    """The referral's printable letter; the view is recorded before it is shown.

    :raises NotFound: the case or the referral lies outside what the actor may read (recorded).
    :raises AccessDenied: the actor may not view the case's records (recorded).
    """
    loaded = load_case(ctx, number, Act.VIEW_CASE)
    row = _load_referral(ctx, loaded, referral_id)
    case = loaded.case
    ctx.record(
        AuditAction.CASE_REFERRAL_LETTER_VIEWED,
        object_type="referral",
        object_id=row.id,
        case_id=case.id,
        school_id=case.school_id,
        purpose=loaded.decide(Act.VIEW_CASE).basis,
    )
    school = accounts_repo.school(ctx.db, case.school_id)
    district = accounts_repo.district(ctx.db, case.district_id)
    person = next(
        (p.full_name for party, p in case_repo.parties(ctx.db, case.id) if p.id == row.person_id),
        "",
    )
    author = accounts_repo.display_names(ctx.db, [row.author_id]).get(row.author_id, "")
    return dto.ReferralLetter(
        case_number=case.number,
        school=school.name if school else "",
        district=district.name if district else "",
        person=person,
        destination=row.destination,
        agency=row.agency or "",
        contact=row.contact,
        reason=row.reason or "",
        consent=row.consent,
        consent_records=row.consent_records,
        consent_purpose=row.consent_purpose,
        consent_on=row.consent_on,
        legal_basis=row.legal_basis,
        status=row.status,
        sent_at=row.sent_at,
        author=author,
        printed_at=ctx.now,
    )


def open_referrals(ctx: ServiceContext, case: Case) -> list[str]:
    """Each referral of ``case`` still open, named for a refusal to close the case (whatever
    the actor may read of it: a closure must not pass over a referral it cannot see)."""
    rows: Sequence[Referral] = repository.all_referrals(ctx.db, case.id)
    return [
        f"Referral {r.id} to {r.destination.label.lower()} is {r.status.label.lower()}"
        + (f", next follow-up {r.follow_up_on.isoformat()}" if r.follow_up_on else "")
        + "."
        for r in rows
        if r.status.open
    ]


def referrals_to_follow_up(ctx: ServiceContext) -> list[dto.WorkItem]:
    """Open referrals the actor may read, across its cases, by next follow-up date.

    :raises AccessDenied: nobody is signed in.
    """
    access = access_for(ctx)
    day = today(ctx)
    return [
        dto.WorkItem(
            case_number=case.number,
            text=f"Follow up referral {r.id} to {r.destination.label.lower()} "
            f"({r.status.label.lower()})",
            due_on=r.follow_up_on,
            overdue=_overdue(r, day),
        )
        for r, case in repository.open_referrals(ctx.db, access)
    ]
