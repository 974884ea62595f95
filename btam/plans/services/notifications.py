"""Who must be told of a threat, and the record of each telling.

For a substantive determination (pending or confirmed) the case owes a notification to each
of its targets and to the parents of each threatened student, by the day after the
determination was recorded. A subject with a documented history of violence against staff or
of carrying a weapon (recorded here, under the person's key) obliges telling the staff
assigned to the subject, in writing, before the assignment: owed from the day the history is
recorded, on every case of the subject that is not closed, whatever its classification.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from btam.access.policy import Act
from btam.access.record_classes import RecordClass
from btam.access.refusal import actor_of
from btam.accounts import repository as accounts_repo
from btam.accounts.services import organisation
from btam.assessment import repository as assessment_repo
from btam.assessment.models import Determination
from btam.assessment.terms import DeterminationStatus, Method
from btam.audit.actions import AuditAction
from btam.cases import repository as case_repo
from btam.cases.lifecycle import CaseChange
from btam.cases.models import Case, CaseParty
from btam.cases.services.guard import CaseInScope, access_for, load_case
from btam.cases.services.records import check_may_file
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.people.models import Person
from btam.people.terms import Part, PersonKind
from btam.plans import referral_dto as dto
from btam.plans import referral_repository as repository
from btam.plans.referral_models import DocumentedHistory, Notification
from btam.plans.referral_terms import Audience, History
from btam.plans.services.calendar import today

RECIPIENT_MAX = 500
TEXT_MAX = 2_000
LIVE = frozenset({DeterminationStatus.PENDING, DeterminationStatus.CONFIRMED})
WRITTEN = frozenset({Method.LETTER, Method.EMAIL})
_BATCH = 500


def _notifying(ctx: ServiceContext, number: str) -> CaseInScope:
    return load_case(ctx, number, Act.NOTIFY, change=CaseChange.PLAN)


def record_notification(
    ctx: ServiceContext,
    number: str,
    *,
    audience: Audience,
    about_person_id: int | None,
    recipient: str,
    notified_at: datetime,
    method: Method,
    summary: str,
    record_class: RecordClass = RecordClass.EDUCATION,
) -> Staged[int]:
    """Record that someone was told: whom, when, how, by whom, and what was said in summary.

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    :raises ValidationFailed: no recipient or summary, a time in the future, a person who is
        not the case's target (or subject, for staff), staff told other than in writing.
    """
    loaded = _notifying(ctx, number)
    case = loaded.case
    check_may_file(loaded.access, record_class)
    whom = _required(recipient, "recipient", RECIPIENT_MAX)
    said = _required(summary, "summary", TEXT_MAX)
    if notified_at > ctx.now:
        raise ValidationFailed("A notification cannot be in the future.", field="notified_on")
    parts = _parts(ctx, case)
    if audience in {Audience.TARGET, Audience.TARGET_PARENTS}:
        if about_person_id is None or Part.TARGET not in parts.get(about_person_id, set()):
            raise ValidationFailed("Choose the target this is about.", field="about_person_id")
    elif audience is Audience.STAFF:
        if about_person_id is None or Part.SUBJECT not in parts.get(about_person_id, set()):
            raise ValidationFailed("Choose the subject this is about.", field="about_person_id")
        if method not in WRITTEN:
            raise ValidationFailed(
                "Staff are told in writing (a letter or an email).", field="method"
            )
    elif about_person_id is not None and about_person_id not in parts:
        raise ValidationFailed("Choose one of the case's people.", field="about_person_id")
    row = Notification(
        case_id=case.id,
        audience=audience,
        about_person_id=about_person_id,
        recipient=whom,
        notified_at=notified_at,
        method=method,
        summary=said,
        record_class=record_class,
        author_id=loaded.access.actor.user_id,
        recorded_at=ctx.now,
    )
    ctx.db.add(row)
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.CASE_NOTIFICATION_RECORDED,
            object_type="notification",
            object_id=row.id,
            purpose=f"{audience.value}, {method.value}",
        ),
    )


def record_history(
    ctx: ServiceContext, number: str, *, person_id: int | None, kind: History, documented_in: str
) -> Staged[int]:
    """Record a subject's documented history of violence against staff or of carrying a
    weapon, and where it is documented; from then on staff assigned to the subject are owed a
    written notice before the assignment.

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    :raises ValidationFailed: the person is not a subject of the case; no documentation named.
    """
    loaded = _notifying(ctx, number)
    case = loaded.case
    if person_id is None or Part.SUBJECT not in _parts(ctx, case).get(person_id, set()):
        raise ValidationFailed("Choose the case's subject.", field="person_id")
    row = DocumentedHistory(
        person_id=person_id,
        case_id=case.id,
        kind=kind.value,
        documented_in=_required(documented_in, "documented_in", TEXT_MAX),
        recorded_by=loaded.access.actor.user_id,
        recorded_at=ctx.now,
    )
    ctx.db.add(row)
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.PERSON_HISTORY_RECORDED,
            object_type="documented_history",
            object_id=row.id,
        ),
    )


def _required(value: str | None, field: str, limit: int) -> str:
    """Typed text, trimmed, required and bounded.

    :raises ValidationFailed: empty or too long.
    """
    text = (value or "").strip()
    if not text:
        raise ValidationFailed("This field is required.", field=field)
    if len(text) > limit:
        raise ValidationFailed(f"At most {limit:,} characters.", field=field)
    return text


def _parts(ctx: ServiceContext, case: Case) -> dict[int, set[Part]]:
    found: dict[int, set[Part]] = {}
    for party, _person in case_repo.parties(ctx.db, case.id):
        found.setdefault(party.person_id, set()).add(party.part)
    return found


def duties(ctx: ServiceContext, case: Case) -> list[dto.Duty]:
    """Who the case must tell, each with its due day and whether it is recorded (whatever the
    actor may read: a duty is owed whoever recorded it)."""
    return duties_of_cases(ctx, [case]).get(case.id, [])


def duties_of_cases(
    ctx: ServiceContext, cases: Sequence[Case], *, pending_only: bool = False
) -> dict[int, list[dto.Duty]]:
    """The duties of each open case among ``cases`` (with ``pending_only``, those not yet
    recorded), read for all of them at once (a fixed number of queries, however many cases).
    Only the people the duties name are decrypted."""
    ids = [c.id for c in cases if c.status is not CaseStatus.CLOSED]
    parties = case_repo.parties_of_cases(ctx.db, ids, names=False)
    given = repository.all_notifications(ctx.db, ids)
    determined = assessment_repo.determinations_of_cases(ctx.db, ids)
    subjects = {p.person_id for rows in parties.values() for p, _ in rows if p.part is Part.SUBJECT}
    histories: dict[int, list[DocumentedHistory]] = {}
    for h in repository.histories(ctx.db, subjects):
        histories.setdefault(h.person_id, []).append(h)
    owed = _Owed(today(ctx), _local_day(ctx), histories)
    found = {
        case_id: [
            d
            for d in owed.of_case(ctx, parties[case_id], given[case_id], determined[case_id])
            if not (pending_only and d.done)
        ]
        for case_id in ids
    }
    named = {d.person.id: d.person for duties in found.values() for d in duties}
    case_repo.preload_person_names(list(named.values()))
    return {case_id: [d.named() for d in duties] for case_id, duties in found.items()}


@dataclass(frozen=True)
class _Duty:
    """A duty worked out, its person not yet decrypted."""

    audience: Audience
    person: Person
    due_on: date
    overdue: bool
    done: bool
    histories: tuple[str, ...] = ()  # the staff notice's kinds of documented history

    def named(self) -> dto.Duty:
        name = self.person.full_name
        if self.audience is Audience.TARGET:
            text = f"{name} (target)"
        elif self.audience is Audience.TARGET_PARENTS:
            text = f"The parents of {name} (target)"
        else:
            text = (
                f"Staff assigned to {name}, in writing before the assignment "
                f"({', '.join(self.histories).lower()})"
            )
        return dto.Duty(self.audience, self.person.id, text, self.due_on, self.overdue, self.done)


class _Owed:
    """What a case owes, from rows already read (the day and zone read once)."""

    def __init__(
        self,
        day: date,
        zone_day: Callable[[datetime], date],
        histories: dict[int, list[DocumentedHistory]],
    ) -> None:
        self.day, self.zone_day, self.histories = day, zone_day, histories

    def of_case(
        self,
        ctx: ServiceContext,
        parties: Sequence[tuple[CaseParty, Person]],
        given: Sequence[Notification],
        determined: Sequence[Determination],
    ) -> list[_Duty]:
        day, zone_day = self.day, self.zone_day
        found: list[_Duty] = []
        live = [d for d in determined if d.status in LIVE]
        substantive = [
            d
            for d in live
            if ctx.catalog.get(d.model_id, d.model_version)
            .classification(d.classification)
            .substantive
        ]
        if substantive:
            due = zone_day(min(d.recorded_at for d in substantive)) + timedelta(days=1)
            for party, person in parties:
                if party.part is not Part.TARGET:
                    continue
                owed = [Audience.TARGET]
                if person.kind is PersonKind.STUDENT:
                    owed.append(Audience.TARGET_PARENTS)
                for audience in owed:
                    done = _told(given, audience, person.id)
                    found.append(_Duty(audience, person, due, not done and due < day, done))
        subjects = {p.person_id: person for p, person in parties if p.part is Part.SUBJECT}
        for person_id, person in subjects.items():
            rows = self.histories.get(person_id)
            if not rows:
                continue
            kinds = tuple(sorted({_history_label(h.kind) for h in rows}))
            due = zone_day(min(h.recorded_at for h in rows))
            done = _told(given, Audience.STAFF, person_id)
            found.append(_Duty(Audience.STAFF, person, due, not done and due < day, done, kinds))
        return found


def _in_sentence(duty: dto.Duty) -> str:
    # A name keeps its capital; "The parents of …" and "Staff assigned to …" do not.
    if duty.audience is Audience.TARGET:
        return duty.text
    return duty.text[:1].lower() + duty.text[1:]


def _history_label(kind: str | None) -> str:
    try:
        return History(kind or "").label
    except ValueError:
        return "Documented history"


def _local_day(ctx: ServiceContext) -> Callable[[datetime], date]:
    zone = organisation.district_zone(ctx)
    return lambda moment: moment.astimezone(zone).date()


def _told(given: Sequence[Notification], audience: Audience, person_id: int) -> bool:
    return any(
        n.audience is audience
        and n.about_person_id == person_id
        and (audience is not Audience.STAFF or n.method in WRITTEN)
        for n in given
    )


def outstanding_notifications_of(ctx: ServiceContext, case: Case) -> list[str]:
    """Each notification ``case`` still owes, named for a refusal to close the case."""
    return [f"Notification not recorded: {d.text}." for d in duties(ctx, case) if not d.done]


def outstanding_notifications(ctx: ServiceContext) -> list[dto.WorkItem]:
    """Notifications owed across the cases the actor may view, overdue first, then by due day.

    :raises AccessDenied: nobody is signed in.
    """
    actor_of(ctx)
    cases = repository.open_cases(ctx.db, access_for(ctx))
    items = []
    # By batches: a district-wide reader may have thousands of open cases.
    for start in range(0, len(cases), _BATCH):
        batch = cases[start : start + _BATCH]
        owed = duties_of_cases(ctx, batch, pending_only=True)
        items += [
            dto.WorkItem(case.number, f"Tell {_in_sentence(d)}", d.due_on, d.overdue)
            for case in batch
            for d in owed[case.id]
            if not d.done
        ]
    return sorted(items, key=lambda i: (not i.overdue, i.due_on or date.max, i.case_number))


def notification_views(
    ctx: ServiceContext, loaded: CaseInScope, people: dict[int, str]
) -> list[dto.NotificationView]:
    """The case's notifications the viewer may read."""
    rows = repository.notifications(ctx.db, loaded.access, loaded.case.id)
    names = accounts_repo.display_names(ctx.db, {n.author_id for n in rows})
    return [
        dto.NotificationView(
            id=n.id,
            audience=n.audience,
            about=people.get(n.about_person_id) if n.about_person_id else None,
            recipient=n.recipient or "",
            notified_at=n.notified_at,
            method=n.method,
            summary=n.summary,
            record_class=n.record_class,
            recorded_by=names.get(n.author_id, ""),
        )
        for n in rows
    ]


def history_views(ctx: ServiceContext, case: Case, people: dict[int, str]) -> list[dto.HistoryView]:
    """The documented histories of the case's subjects (from any of their cases)."""
    subjects = [
        p.person_id for p, _ in case_repo.parties(ctx.db, case.id) if p.part is Part.SUBJECT
    ]
    rows = repository.histories(ctx.db, subjects)
    names = accounts_repo.display_names(ctx.db, {h.recorded_by for h in rows})
    views = []
    for h in rows:
        try:
            kind: History | None = History(h.kind or "")
        except ValueError:
            kind = None
        views.append(
            dto.HistoryView(
                person=people.get(h.person_id, ""),
                kind=kind,
                documented_in=h.documented_in,
                recorded_by=names.get(h.recorded_by, ""),
                recorded_at=h.recorded_at,
            )
        )
    return views
