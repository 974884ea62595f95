"""Intake: staff reports, the imminent-danger path, and the anonymous tip line with its
follow-up code.

A tip carries no client address and no account: its audit entries name the anonymous actor
with no address, and the rate limits count keyed hashes that cannot be turned back into an
address. The follow-up code is shown once; only a slow hash of its secret part is kept.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext
from btam.cases import dto, repository
from btam.cases.intake_models import (
    Report,
    ReportAction,
    ReportAttachment,
    ReportPerson,
    TipAccess,
    TipMessage,
)
from btam.cases.services.access import access_for, clean_text, refuse
from btam.cases.services.cases import check_file
from btam.cases.services.people import PersonData, find_or_create_person
from btam.cases.terms import (
    Channel,
    ImmediateAction,
    Part,
    PersonKind,
    TipCategory,
)
from btam.errors import ValidationFailed
from btam.security import policy
from btam.security.authn import RateLimit
from btam.security.policy import Act
from btam.services import ServiceContext

NARRATIVE_MAX = 20_000
SHORT_MAX = 500
MESSAGE_MAX = 5_000
# The tip line: per client (keyed hash, an hour) and for the whole site, against floods.
TIPS_PER_CLIENT_PER_HOUR = 5
TIPS_PER_HOUR = 300
FOLLOW_UP_FAILURES = 10
FOLLOW_UP_WINDOW = timedelta(minutes=15)
# A follow-up code: 8 base32 characters to find the tip, 16 (80 bits) to prove it is yours.
LOOKUP_CHARS = 8
SECRET_CHARS = 16
# Staff channels a signed-in user may report through (tips come through /tip only).
WRONG_CODE = "That code does not open a tip. Check it and try again."
STAFF_CHANNELS = tuple(c for c in Channel if c is not Channel.ANONYMOUS_TIP)


class RateLimited(Exception):
    """Too many attempts from this client or at all; answer 429 and change nothing."""


@dataclass(frozen=True)
class PersonEntry:
    part: Part
    person: PersonData


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ReportData:
    school_id: int
    channel: Channel
    occurred: str
    location: str
    narrative: str
    people: Sequence[PersonEntry] = ()
    attachment: Upload | None = None
    confidential: bool = False
    imminent: bool = False
    actions: Sequence[tuple[ImmediateAction, str, datetime]] = ()


@dataclass(frozen=True)
class Submitted:
    report_id: int
    imminent: bool


@dataclass(frozen=True)
class TipReceipt:
    code: str  # shown once, never stored


def one_school_day_after(moment: datetime) -> datetime:
    """Triage is due within one school day: the next weekday at the same time."""
    due = moment + timedelta(days=1)
    while due.weekday() >= 5:  # Saturday, Sunday
        due += timedelta(days=1)
    return due


def schools(ctx: ServiceContext) -> list[dto.SchoolChoice]:
    """The district's active schools, for the report and tip forms."""
    return [dto.SchoolChoice(s.id, s.name) for s in repository.active_schools(ctx.db)]


def _school(ctx: ServiceContext, school_id: int) -> int:
    school = repository.school(ctx.db, school_id)
    if school is None or not school.is_active:
        raise ValidationFailed("Choose a school.", field="school_id")
    return school.district_id


def _attach(ctx: ServiceContext, report: Report, upload: Upload | None) -> None:
    if upload is None or not upload.data:
        return
    check_file(upload.content_type, upload.data)
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    row = ReportAttachment(
        report_id=report.id,
        filename=name or "attachment",
        content_type=upload.content_type,
        created_at=ctx.now,
    )
    row.content = upload.data
    ctx.db.add(row)


def submit_report(ctx: ServiceContext, data: ReportData) -> Submitted:
    """A signed-in user's report; everything is stored in one transaction or nothing is."""
    access = access_for(ctx)
    policy.require(access, Act.SUBMIT_REPORT, None)
    if data.channel not in STAFF_CHANNELS:
        raise ValidationFailed("Choose how this came to you.", field="channel")
    district_id = _school(ctx, data.school_id)
    narrative = clean_text(data.narrative, field="narrative", limit=NARRATIVE_MAX, required=True)
    report = Report(
        district_id=district_id,
        school_id=data.school_id,
        channel=data.channel,
        received_at=ctx.now,
        due_at=one_school_day_after(ctx.now),
        reporter_id=access.actor.user_id,
        reporter_confidential=data.confidential,
        occurred=clean_text(data.occurred, field="occurred", limit=SHORT_MAX),
        location=clean_text(data.location, field="location", limit=SHORT_MAX),
        narrative=narrative,
        imminent=data.imminent,
    )
    ctx.db.add(report)
    ctx.db.flush()
    for entry in data.people:
        person = entry.person
        if person.kind is not PersonKind.OTHER and person.school_id is None:
            person = replace(person, school_id=data.school_id)
        found = find_or_create_person(ctx, person, district_id=district_id)
        ctx.db.add(ReportPerson(report_id=report.id, person_id=found.id, part=entry.part))
    for action, by_whom, at in data.actions:
        ctx.db.add(
            ReportAction(
                report_id=report.id,
                action=action,
                taken_by=clean_text(by_whom, field="actions", limit=SHORT_MAX) or "",
                taken_at=at,
                recorded_by=access.actor.user_id,
                recorded_at=ctx.now,
            )
        )
    _attach(ctx, report, data.attachment)
    if data.confidential:
        # The lead alone may know who reported, and the audit trail is read and exported by
        # others: the entry names no one (the report row keeps the reporter for the lead).
        ctx = _anonymous(ctx)
    ctx.commit_with_audit(
        AuditAction.INTAKE_REPORT_SUBMITTED,
        object_type="report",
        object_id=report.id,
        school_id=report.school_id,
        purpose=f"{data.channel.value}{', imminent danger' if data.imminent else ''}",
    )
    return Submitted(report.id, data.imminent)


def my_reports(ctx: ServiceContext) -> list[dto.OwnReport]:
    """The signed-in user's own reports: status only, never the outcome's details."""
    access = access_for(ctx)
    rows = repository.own_reports(ctx.db, access)
    return [
        dto.OwnReport(
            id=r.id,
            received_at=r.received_at,
            school=(s.name if (s := repository.school(ctx.db, r.school_id)) else ""),
            status=r.status,
        )
        for r in rows
    ]


# --------------------------------------------------------------------------- the tip line


def _tip_limits(ctx: ServiceContext) -> tuple[RateLimit, RateLimit]:
    secret = ctx.settings.secret_key.encode()
    return (
        RateLimit(secret, "tip-client", TIPS_PER_CLIENT_PER_HOUR, timedelta(hours=1)),
        RateLimit(secret, "tip-all", TIPS_PER_HOUR, timedelta(hours=1)),
    )


def _code_limits(ctx: ServiceContext) -> tuple[RateLimit, RateLimit]:
    secret = ctx.settings.secret_key.encode()
    return (
        RateLimit(secret, "tipcode-client", FOLLOW_UP_FAILURES, FOLLOW_UP_WINDOW),
        RateLimit(secret, "tipcode-lookup", FOLLOW_UP_FAILURES, FOLLOW_UP_WINDOW),
    )


def _anonymous(ctx: ServiceContext) -> ServiceContext:
    # The audit entries of the tip line carry no address, whatever the request had.
    return replace(
        ctx,
        audit_ctx=AuditContext(
            actor_id=None,
            actor_role="anonymous",
            request_id=ctx.audit_ctx.request_id,
            client_address=None,
        ),
    )


def _new_code() -> tuple[str, str]:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or copied by hand
    lookup = "".join(secrets.choice(alphabet) for _ in range(LOOKUP_CHARS))
    secret = base64.b32encode(secrets.token_bytes(10)).decode("ascii")  # 80 bits
    return lookup, secret


def format_code(lookup: str, secret: str) -> str:
    raw = lookup + secret
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _split_code(code: str) -> tuple[str, str] | None:
    raw = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    if len(raw) != LOOKUP_CHARS + SECRET_CHARS or not raw.isascii():
        return None
    return raw[:LOOKUP_CHARS], raw[LOOKUP_CHARS:]


@dataclass(frozen=True)
class TipData:
    school_id: int
    category: TipCategory
    what: str
    who: str
    where: str
    when: str
    attachment: Upload | None = None


def submit_tip(ctx: ServiceContext, data: TipData, *, client: str | None) -> TipReceipt:
    """An anonymous tip; ``client`` is used for the rate limit only and is never stored.

    :raises RateLimited: too many tips from this client or at all in the last hour.
    """
    ctx = _anonymous(ctx)
    per_client, overall = _tip_limits(ctx)
    if (client and per_client.exceeded(ctx.db, client, now=ctx.now)) or overall.exceeded(
        ctx.db, "all", now=ctx.now
    ):
        raise RateLimited
    district_id = _school(ctx, data.school_id)
    narrative = clean_text(data.what, field="what", limit=NARRATIVE_MAX, required=True)
    report = Report(
        district_id=district_id,
        school_id=data.school_id,
        channel=Channel.ANONYMOUS_TIP,
        category=data.category,
        received_at=ctx.now,
        due_at=one_school_day_after(ctx.now),
        narrative=narrative,
        who=clean_text(data.who, field="who", limit=SHORT_MAX * 4),
        location=clean_text(data.where, field="where", limit=SHORT_MAX),
        occurred=clean_text(data.when, field="when", limit=SHORT_MAX),
    )
    ctx.db.add(report)
    ctx.db.flush()
    _attach(ctx, report, data.attachment)
    lookup, secret = _new_code()
    ctx.db.add(TipAccess(report_id=report.id, lookup=lookup, secret_hash=ctx.hashing.hash(secret)))
    if client:
        per_client.count(ctx.db, client, now=ctx.now)
    overall.count(ctx.db, "all", now=ctx.now)
    ctx.commit_with_audit(
        AuditAction.INTAKE_TIP_RECEIVED,
        object_type="report",
        object_id=report.id,
        school_id=report.school_id,
        purpose=data.category.value,
    )
    return TipReceipt(format_code(lookup, secret))


def _tip_by_code(ctx: ServiceContext, code: str, client: str | None) -> Report:
    """The tip the code opens; a wrong code counts against the client and the lookup part.

    :raises RateLimited: too many wrong codes lately.
    :raises ValidationFailed: the code is wrong (one message whatever was wrong).
    """
    by_client, by_lookup = _code_limits(ctx)
    parts = _split_code(code)
    # A malformed code has no lookup part: it counts against the client only, so that
    # anyone's typos do not lock out everyone else's.
    lookup = parts[0] if parts else None
    if (client and by_client.exceeded(ctx.db, client, now=ctx.now)) or (
        lookup is not None and by_lookup.exceeded(ctx.db, lookup, now=ctx.now)
    ):
        raise RateLimited
    access = repository.tip_access(ctx.db, lookup) if lookup is not None else None
    # Verify even when nothing matched, so a wrong lookup part costs the same time.
    stored = access.secret_hash if access is not None else None
    if parts is None or not ctx.hashing.verify(stored, parts[1]) or access is None:
        if client:
            by_client.count(ctx.db, client, now=ctx.now)
        if lookup is not None:
            by_lookup.count(ctx.db, lookup, now=ctx.now)
        ctx.commit_with_audit(
            AuditAction.INTAKE_TIP_CODE_REFUSED, outcome=Outcome.DENIED, object_type="tip_code"
        )
        raise ValidationFailed(WRONG_CODE, field="code")
    report = repository.report(ctx.db, access.report_id)
    if report is None:  # the access row's foreign key makes this impossible
        raise ValidationFailed(WRONG_CODE, field="code")
    return report


def follow_up(ctx: ServiceContext, code: str, *, client: str | None) -> dto.TipThread:
    """What a tipster sees with its code: the status and the conversation, nothing more."""
    ctx = _anonymous(ctx)
    report = _tip_by_code(ctx, code, client)
    ctx.record(AuditAction.INTAKE_TIP_FOLLOWED_UP, object_type="report", object_id=report.id)
    return _thread(ctx, report)


def tipster_message(
    ctx: ServiceContext, code: str, body: str, *, client: str | None
) -> dto.TipThread:
    ctx = _anonymous(ctx)
    report = _tip_by_code(ctx, code, client)
    text = clean_text(body, field="message", limit=MESSAGE_MAX, required=True)
    ctx.db.add(TipMessage(report_id=report.id, from_tipster=True, body=text, created_at=ctx.now))
    ctx.commit_with_audit(
        AuditAction.INTAKE_TIP_MESSAGE_ADDED,
        object_type="report",
        object_id=report.id,
        school_id=report.school_id,
        purpose="from the tipster",
    )
    return _thread(ctx, report)


def _thread(ctx: ServiceContext, report: Report) -> dto.TipThread:
    return dto.TipThread(
        status=report.status,
        received_at=report.received_at,
        messages=[
            dto.TipMessageView(from_tipster=m.from_tipster, body=m.body or "", at=m.created_at)
            for m in repository.tip_messages(ctx.db, report.id)
        ],
    )


def team_message(ctx: ServiceContext, report_id: int, body: str) -> None:
    """The team answers a tipster (who reads it with its code)."""
    access = access_for(ctx)
    report = repository.report(ctx.db, report_id)
    if report is None or report.channel is not Channel.ANONYMOUS_TIP:
        refuse(ctx, object_type="report", object_id=report_id, reason="no such tip")
    decision = policy.can(access, Act.TRIAGE, repository.report_facts(ctx.db, report))
    if not decision:
        refuse(ctx, object_type="report", object_id=report_id, reason=decision.reason)
    text = clean_text(body, field="message", limit=MESSAGE_MAX, required=True)
    ctx.db.add(
        TipMessage(
            report_id=report.id,
            from_tipster=False,
            author_id=access.actor.user_id,
            body=text,
            created_at=ctx.now,
        )
    )
    ctx.commit_with_audit(
        AuditAction.INTAKE_TIP_MESSAGE_ADDED,
        object_type="report",
        object_id=report.id,
        school_id=report.school_id,
        purpose="from the team",
    )
