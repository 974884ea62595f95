"""The anonymous tip line with its follow-up code.

A tip carries no client address and no account: its audit entries name the anonymous actor
with no address, and the rate limits count keys salted per window (``btam.intake.rate_limits``)
that cannot be turned back into an address once the window has passed. The follow-up code is
shown once; only a slow hash of its secret part is kept.

The line cannot be shut from outside: past the hourly limit it keeps taking tips, each after a
proof of work done by the tipster's browser (``btam.security.proof_of_work``), and the first
tip over the limit in a window raises an alert (an audit entry, a banner on the admin page).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from btam.access import policy
from btam.access.permissions import Permission
from btam.access.policy import Act
from btam.access.refusal import refuse, require_permission
from btam.audit.actions import AuditAction, Outcome
from btam.audit.events import AuditEvent
from btam.cases.services.guard import access_for
from btam.context import ServiceContext, Staged, staged
from btam.files import Upload
from btam.intake import dto, repository
from btam.intake.models import (
    Report,
    TipAccess,
    TipMessage,
)
from btam.intake.rate_limits import (
    RateLimit,
    alert_of,
    claim_proof,
    client_key,
    raise_alert,
)
from btam.intake.services.reports import (
    NARRATIVE_MAX,
    SHORT_MAX,
    attach_file,
    district_of_school,
)
from btam.intake.terms import Channel, TipCategory
from btam.plans.services import calendar
from btam.security import proof_of_work
from btam.text import clean_text

MESSAGE_MAX = 5_000


# The tip line's windows; the limits are settings (tips_client_limit, tips_hourly_limit).
TIP_WINDOW = timedelta(hours=1)
# The key every tip is counted under for the whole site.
ALL_TIPS = "all"


FOLLOW_UP_FAILURES = 10


FOLLOW_UP_WINDOW = timedelta(minutes=15)


# A follow-up code: 8 base32 characters to find the tip, 16 (80 bits) to prove it is yours.
LOOKUP_CHARS = 8


SECRET_CHARS = 16


# Staff channels a signed-in user may report through (tips come through /tip only).
WRONG_CODE = "That code does not open a tip. Check it and try again."


class RateLimited(Exception):
    """Too many attempts from this client; answer 429 and change nothing."""


@dataclass(frozen=True)
class ProofNeeded:
    """The tip line is flooded: the tip is taken once the browser solves ``challenge``."""

    challenge: str
    bits: int


@dataclass(frozen=True)
class TipProof:
    """A browser's answer to a challenge of the tip form."""

    challenge: str
    answer: str


@dataclass(frozen=True)
class TipLineFlood:
    """The tip line is past its hourly limit: since when, and how many tips this hour."""

    since: datetime
    tips: int
    limit: int


@dataclass(frozen=True)
class TipReceipt:
    code: str  # shown once, never stored
    report_id: int  # for the team's side (the demo); never shown to the tipster


def _tip_limits(ctx: ServiceContext) -> tuple[RateLimit, RateLimit]:
    return (
        RateLimit("tip-client", ctx.settings.tips_client_limit, TIP_WINDOW),
        RateLimit("tip-all", ctx.settings.tips_hourly_limit, TIP_WINDOW),
    )


def _code_limits() -> tuple[RateLimit, RateLimit]:
    return (
        RateLimit("tipcode-client", FOLLOW_UP_FAILURES, FOLLOW_UP_WINDOW),
        RateLimit("tipcode-lookup", FOLLOW_UP_FAILURES, FOLLOW_UP_WINDOW),
    )


def _challenge(ctx: ServiceContext) -> ProofNeeded:
    issued = proof_of_work.issue(
        ctx.settings.secret_key.encode(), bits=ctx.settings.tips_proof_bits, now=ctx.now
    )
    return ProofNeeded(issued.text, issued.bits)


def proof_challenge(ctx: ServiceContext) -> ProofNeeded | None:
    """The challenge a tip form carries while the tip line is past its hourly limit."""
    _per_client, overall = _tip_limits(ctx)
    return _challenge(ctx) if overall.exceeded(ctx.db, ALL_TIPS, now=ctx.now) else None


def _proof_holds(ctx: ServiceContext, proof: TipProof | None) -> bool:
    """Whether ``proof`` solves a challenge of ours, still fresh and never used; it is used
    up by the tip it buys (staged with it)."""
    if proof is None:
        return False
    solved = proof_of_work.check(
        ctx.settings.secret_key.encode(),
        proof.challenge,
        proof.answer,
        min_bits=ctx.settings.tips_proof_bits,
        now=ctx.now,
    )
    if isinstance(solved, proof_of_work.ProofFailure):
        return False
    return claim_proof(ctx.db, solved.text, expires_at=solved.expires_at)


def _flood_alert(ctx: ServiceContext, overall: RateLimit) -> list[AuditEvent]:
    """The alert of a flood, the first time the hourly limit is passed in its window."""
    if not raise_alert(ctx.db, overall, now=ctx.now):
        return []
    return [
        AuditEvent(
            AuditAction.INTAKE_TIP_LINE_FLOODED,
            object_type="tip_line",
            purpose=f"more than {overall.limit} tips within the hour",
            anonymous=True,
        )
    ]


def tip_line_flood(ctx: ServiceContext) -> TipLineFlood | None:
    """The tip line's flood, while one lasts (the district administrator's alert).

    :raises AccessDenied: unless the actor manages the district's users (recorded).
    """
    require_permission(ctx, Permission.ADMIN_USERS_MANAGE)
    _per_client, overall = _tip_limits(ctx)
    since = alert_of(ctx.db, overall, now=ctx.now)
    if since is None:
        return None
    return TipLineFlood(since, overall.count_of(ctx.db, ALL_TIPS, now=ctx.now), overall.limit)


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


def submit_tip(
    ctx: ServiceContext,
    data: TipData,
    *,
    client: str | None,
    proof: TipProof | None = None,
    limited: bool = True,
) -> Staged[TipReceipt | ProofNeeded]:
    """An anonymous tip; ``client`` is used for the rate limit only and is never stored.

    Past the hourly limit the tip is taken only with a fresh, unused proof of work; without
    one the answer is a challenge (``ProofNeeded``, staged with the flood's alert when it is
    the first of the window) and nothing of the tip is kept. ``limited=False`` is for the
    demo, which loads tips of the past: they are neither limited nor counted.

    :raises RateLimited: too many tips from this client (its address, or its IPv6 /64) within
        the hour.
    :raises ValidationFailed: no school, nothing said, a field too long, a bad file.
    """
    per_client, overall = _tip_limits(ctx)
    key = client_key(client) if limited else None
    if key and per_client.exceeded(ctx.db, key, now=ctx.now):
        raise RateLimited
    alert: list[AuditEvent] = []
    if limited and overall.exceeded(ctx.db, ALL_TIPS, now=ctx.now):
        alert = _flood_alert(ctx, overall)
        if not _proof_holds(ctx, proof):
            return staged(_challenge(ctx), *alert)
    district_id = district_of_school(ctx, data.school_id)
    narrative = clean_text(data.what, field="what", limit=NARRATIVE_MAX, required=True)
    report = Report(
        district_id=district_id,
        school_id=data.school_id,
        channel=Channel.ANONYMOUS_TIP,
        category=data.category,
        received_at=ctx.now,
        due_at=calendar.school_days_after(ctx, ctx.now),
        narrative=narrative,
        who=clean_text(data.who, field="who", limit=SHORT_MAX * 4),
        location=clean_text(data.where, field="where", limit=SHORT_MAX),
        occurred=clean_text(data.when, field="when", limit=SHORT_MAX),
    )
    ctx.db.add(report)
    ctx.db.flush()
    attach_file(ctx, report, data.attachment)
    lookup, secret = _new_code()
    ctx.db.add(TipAccess(report_id=report.id, lookup=lookup, secret_hash=ctx.hashing.hash(secret)))
    if key:
        per_client.count(ctx.db, key, now=ctx.now)
    if limited:
        overall.count(ctx.db, ALL_TIPS, now=ctx.now)
    return staged(
        TipReceipt(format_code(lookup, secret), report.id),
        *alert,
        _tip_event(AuditAction.INTAKE_TIP_RECEIVED, report, purpose=data.category.value),
    )


def _tip_event(
    action: AuditAction,
    report: Report | None,
    *,
    purpose: str | None = None,
    outcome: Outcome = Outcome.ALLOWED,
) -> AuditEvent:
    # Whoever is signed in, the tip line's entries name the anonymous actor and no address.
    return AuditEvent(
        action,
        outcome=outcome,
        object_type="report" if report is not None else "tip_code",
        object_id=report.id if report is not None else None,
        school_id=report.school_id if report is not None else None,
        purpose=purpose,
        anonymous=True,
    )


def _tip_by_code(ctx: ServiceContext, code: str, client: str | None) -> Report | None:
    """The tip the code opens, or None: a wrong code is counted (staged) against the client
    and the lookup part, for the use case to commit with its refusal.

    :raises RateLimited: too many wrong codes lately.
    """
    by_client, by_lookup = _code_limits()
    client = client_key(client)
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
        return None
    return repository.report(ctx.db, access.report_id)


def _refused() -> Staged[dto.TipThread | None]:
    return staged(
        None,
        _tip_event(AuditAction.INTAKE_TIP_CODE_REFUSED, None, outcome=Outcome.DENIED),
    )


def follow_up(
    ctx: ServiceContext, code: str, *, client: str | None
) -> Staged[dto.TipThread | None]:
    """What a tipster sees with its code: the status and the conversation, nothing more.

    None (and a refusal to record) when the code opens no tip.

    :raises RateLimited: too many wrong codes lately.
    """
    report = _tip_by_code(ctx, code, client)
    if report is None:
        return _refused()
    return staged(_thread(ctx, report), _tip_event(AuditAction.INTAKE_TIP_FOLLOWED_UP, report))


def tipster_message(
    ctx: ServiceContext, code: str, body: str, *, client: str | None
) -> Staged[dto.TipThread | None]:
    """The tipster writes to the team, with its code; None when the code opens no tip.

    :raises RateLimited: too many wrong codes lately.
    :raises ValidationFailed: an empty or too long message.
    """
    report = _tip_by_code(ctx, code, client)
    if report is None:
        return _refused()
    text = clean_text(body, field="message", limit=MESSAGE_MAX, required=True)
    ctx.db.add(TipMessage(report_id=report.id, from_tipster=True, body=text, created_at=ctx.now))
    ctx.db.flush()
    return staged(
        _thread(ctx, report),
        _tip_event(AuditAction.INTAKE_TIP_MESSAGE_ADDED, report, purpose="from the tipster"),
    )


def _thread(ctx: ServiceContext, report: Report) -> dto.TipThread:
    return dto.TipThread(
        status=report.status,
        received_at=report.received_at,
        messages=[
            dto.TipMessageView(from_tipster=m.from_tipster, body=m.body or "", at=m.created_at)
            for m in repository.tip_messages(ctx.db, report.id)
        ],
    )


def team_message(ctx: ServiceContext, report_id: int, body: str) -> Staged[None]:
    """The team answers a tipster (who reads it with its code).

    :raises NotFound: no such tip among those the actor may triage (recorded).
    :raises ValidationFailed: an empty or too long message.
    """
    access = access_for(ctx)
    report = repository.report(ctx.db, report_id)
    if report is None or report.channel is not Channel.ANONYMOUS_TIP:
        refuse(ctx, object_type="report", object_id=report_id, reason="no such tip")
    decision = policy.allowed(access, Act.TRIAGE, repository.report_facts(ctx.db, report))
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
    return staged(
        None,
        AuditEvent(
            AuditAction.INTAKE_TIP_MESSAGE_ADDED,
            object_type="report",
            object_id=report.id,
            school_id=report.school_id,
            purpose="from the team",
        ),
    )
