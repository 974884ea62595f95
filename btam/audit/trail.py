"""The auditor's work: search and export the trail, check the chain, review emergency grants.

Every view and export of the trail is itself recorded, so the record of who looked at the
record cannot be read unnoticed either.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from btam.access.permissions import Permission
from btam.access.refusal import require_permission
from btam.accounts.services import organisation, users
from btam.audit import reader
from btam.audit.actions import AuditAction
from btam.audit.events import AuditEvent
from btam.audit.models import AuditEntry
from btam.audit.signing import verification_keys
from btam.audit.verify import verify_chain
from btam.context import ServiceContext
from btam.errors import NotFound, ValidationFailed

CSV_COLUMNS = (
    "seq",
    "at_utc",
    "actor_id",
    "actor",
    "actor_role",
    "action",
    "outcome",
    "object_type",
    "object_id",
    "case_id",
    "school",
    "purpose",
    "request_id",
    "client_address",
    "entry_hash",
)


@dataclass(frozen=True)
class EntryRow:
    """One entry as the auditor's page shows it."""

    seq: int
    at: datetime
    actor: str
    actor_id: int | None
    actor_role: str
    action: str
    outcome: str
    object_type: str | None
    object_id: str | None
    case_id: int | None
    school: str
    purpose: str | None
    request_id: str | None
    client_address: str | None
    entry_hash: str


@dataclass(frozen=True)
class TrailView:
    rows: list[EntryRow]
    page: int
    pages: int
    total: int


def _rows(ctx: ServiceContext, entries: list[AuditEntry]) -> list[EntryRow]:
    names = users.user_names(ctx, (e.actor_id for e in entries if e.actor_id))
    schools = organisation.school_names(ctx)
    out = []
    for e in entries:
        if e.actor_id is not None:
            actor = names.get(e.actor_id, f"user {e.actor_id}")
        else:
            actor = e.actor_role
        out.append(
            EntryRow(
                seq=e.seq,
                at=e.at,
                actor=actor,
                actor_id=e.actor_id,
                actor_role=e.actor_role,
                action=e.action,
                outcome=e.outcome,
                object_type=e.object_type,
                object_id=e.object_id,
                case_id=e.case_id,
                school=schools.get(e.school_id, "") if e.school_id else "",
                purpose=e.purpose,
                request_id=e.request_id,
                client_address=e.client_address,
                entry_hash=e.entry_hash,
            )
        )
    return out


def search(ctx: ServiceContext, *, flt: reader.TrailFilter, page: int) -> TrailView:
    """One page of the trail matching ``flt``, newest first; the look is recorded.

    :raises AuditUnavailable: when the view cannot be recorded (nothing is shown).
    """
    require_permission(ctx, Permission.AUDIT_TRAIL_READ)
    ctx.record(AuditAction.AUDIT_TRAIL_VIEWED, object_type="audit_trail")
    flt = replace(flt, zone=organisation.district_zone(ctx))
    found = reader.read_page(ctx.audit_sessions, flt, page=page)
    return TrailView(_rows(ctx, found.entries), found.page, found.pages, found.total)


def export_csv(ctx: ServiceContext, *, flt: reader.TrailFilter) -> Iterator[str]:
    """The matching entries as CSV text, oldest first; the export is recorded before it starts.

    :raises AuditUnavailable: when the export cannot be recorded (nothing is exported).
    """
    require_permission(ctx, Permission.AUDIT_TRAIL_EXPORT)
    ctx.record(AuditAction.AUDIT_TRAIL_EXPORTED, object_type="audit_trail")
    flt = replace(flt, zone=organisation.district_zone(ctx))

    def generate() -> Iterator[str]:
        yield _csv_text([CSV_COLUMNS])
        batch: list[AuditEntry] = []
        for entry in reader.stream(ctx.audit_sessions, flt):
            batch.append(entry)
            if len(batch) >= reader.EXPORT_BATCH:
                yield _csv_text(_csv_row(row) for row in _rows(ctx, batch))
                batch = []
        if batch:
            yield _csv_text(_csv_row(row) for row in _rows(ctx, batch))

    return generate()


def _csv_row(row: EntryRow) -> tuple[object, ...]:
    return (
        row.seq,
        row.at.isoformat(),
        row.actor_id or "",
        row.actor,
        row.actor_role,
        row.action,
        row.outcome,
        row.object_type or "",
        row.object_id or "",
        row.case_id or "",
        row.school,
        row.purpose or "",
        row.request_id or "",
        row.client_address or "",
        row.entry_hash,
    )


def _spreadsheet_safe(value: object) -> object:
    # A cell starting with = + - @ is a formula to a spreadsheet; a staff member's name is
    # typed by an administrator and must not run when an auditor opens the export.
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


def _csv_text(rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_spreadsheet_safe(v) for v in row])
    return buffer.getvalue()


@dataclass(frozen=True)
class ChainState:
    """What the auditor's page says about the integrity of the trail."""

    ok: bool
    head_seq: int
    checked_from: int
    last_checkpoint_seq: int | None
    last_checkpoint_at: datetime | None
    reason: str
    unsealed: int = 0  # entries after the last signed checkpoint
    witnessed: bool = False  # the witness file holds the head of the chain


def chain_state(ctx: ServiceContext) -> ChainState:
    """Verify the trail from its newest signed checkpoint on (cheap enough for every visit).

    ``btam audit verify`` re-walks the whole trail.

    :raises AuditUnavailable: when the audit store cannot be read.
    """
    require_permission(ctx, Permission.AUDIT_TRAIL_READ)
    last = reader.last_checkpoint(ctx.audit_sessions)
    # verify_chain anchors at the newest valid checkpoint *before* from_seq.
    start = last.seq + 1 if last is not None else 1
    result = verify_chain(
        ctx.audit_sessions,
        public_key=verification_keys(
            ctx.settings.audit_signing_key_file, ctx.settings.audit_public_keys_file
        ),
        witness=ctx.settings.audit_witness,
        from_seq=start,
    )
    return ChainState(
        ok=result.ok,
        head_seq=result.head_seq,
        checked_from=last.seq if last is not None else 1,
        last_checkpoint_seq=last.seq if last else None,
        last_checkpoint_at=last.signed_at if last else None,
        reason=result.reason,
        unsealed=result.unsealed_entries,
        witnessed=result.witnessed_seq is not None and result.witnessed_seq >= result.head_seq,
    )


class Verdict(StrEnum):
    JUSTIFIED = "justified"
    NOT_JUSTIFIED = "not_justified"


@dataclass(frozen=True)
class GrantItem:
    entry: EntryRow
    reviewed: bool
    verdict: str | None
    reads: list[EntryRow]  # what the holder did on the case after the grant


GRANT_QUEUE_MAX = 200


def _reads(ctx: ServiceContext, grant: EntryRow) -> list[EntryRow]:
    if grant.actor_id is None or grant.case_id is None:
        return []
    found = reader.entries_of_actor_on_case(
        ctx.audit_sessions, actor_id=grant.actor_id, case_id=grant.case_id, after_seq=grant.seq
    )
    return _rows(ctx, found)


def grant_queue(ctx: ServiceContext) -> list[GrantItem]:
    """Emergency grants, those awaiting review first, each with what its holder then did.

    The look is recorded.

    :raises AuditUnavailable: when the audit store cannot be read.
    """
    require_permission(ctx, Permission.AUDIT_GRANTS_REVIEW)
    ctx.record(AuditAction.AUDIT_GRANTS_VIEWED, object_type="audit_trail")
    grants = reader.entries_with_action(
        ctx.audit_sessions, AuditAction.ACCESS_EMERGENCY_GRANTED, limit=GRANT_QUEUE_MAX
    )
    reviews = reader.entries_with_action(ctx.audit_sessions, AuditAction.AUDIT_GRANT_REVIEWED)
    verdicts = {r.object_id: (r.purpose or "").removeprefix("review:") for r in reviews}
    items = [
        GrantItem(row, str(row.seq) in verdicts, verdicts.get(str(row.seq)), _reads(ctx, row))
        for row in _rows(ctx, grants)
    ]
    return sorted(items, key=lambda item: (item.reviewed, -item.entry.seq))


def review_grant(ctx: ServiceContext, *, seq: int, verdict: Verdict) -> None:
    """Record an auditor's review of one emergency grant; a grant is reviewed once only.

    Whether it was reviewed is decided under the audit store's append lock, in the
    transaction that records the review, so two auditors at once cannot both review it.

    :raises NotFound: when ``seq`` is not an emergency grant.
    :raises ValidationFailed: when it was reviewed already.
    :raises AuditUnavailable: when the review cannot be recorded.
    """
    require_permission(ctx, Permission.AUDIT_GRANTS_REVIEW)
    entry = reader.entry_by_seq(ctx.audit_sessions, seq)
    if entry is None or entry.action != AuditAction.ACCESS_EMERGENCY_GRANTED:
        raise NotFound("grant")
    recorded = ctx.audit.append_unless(
        ctx.audit_ctx,
        AuditEvent(
            action=AuditAction.AUDIT_GRANT_REVIEWED,
            object_type="audit_entry",
            object_id=seq,
            purpose=f"review:{verdict}",
        ),
        exists=reader.entry_of(AuditAction.AUDIT_GRANT_REVIEWED, object_id=str(seq)),
    )
    if recorded is None:
        raise ValidationFailed("This grant has been reviewed already.")
