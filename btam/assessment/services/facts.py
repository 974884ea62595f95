"""Facts: what the team learned, from which source, when, by whom, corroborated or not.

A fact is never edited in place: a correction is a new version of the same fact (its series),
and the earlier version stays readable with who wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from btam.access.record_classes import RecordClass
from btam.access.refusal import refuse
from btam.assessment import repository
from btam.assessment.models import Fact
from btam.assessment.services.common import assessing
from btam.assessment.terms import FactSource, Offence
from btam.audit.actions import AuditAction
from btam.cases import repository as case_repo
from btam.cases.services.guard import CaseInScope
from btam.cases.services.records import SUMMARY_FOR_TEAM_MAX, check_may_file
from btam.cases.services.team import case_workers
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.text import clean_text

STATEMENT_MAX = 20_000
CORROBORATION_MAX = 2_000
EARLIEST = date(1990, 1, 1)


@dataclass(frozen=True)
class FactData:
    source: FactSource
    learned_on: date | None
    statement: str
    record_class: RecordClass = RecordClass.EDUCATION
    gathered_by: int | None = None
    interviewee_party_id: int | None = None
    corroborated: bool = False
    corroboration: str = ""
    team_summary: str = ""
    offence: Offence | None = None


def _checked(ctx: ServiceContext, loaded: CaseInScope, data: FactData) -> dict[str, object]:
    """The columns of a new version, after every rule a fact must meet.

    :raises ValidationFailed: naming the field that breaks a rule.
    """
    statement = clean_text(data.statement, field="statement", limit=STATEMENT_MAX, required=True)
    if data.learned_on is None:
        raise ValidationFailed("Give the date the fact was learned.", field="learned_on")
    if not EARLIEST <= data.learned_on <= ctx.now.date():
        raise ValidationFailed("The date cannot be in the future.", field="learned_on")
    case = loaded.case
    workers = {w.user_id for w in case_workers(ctx, loaded)}
    if data.gathered_by is not None and data.gathered_by not in workers:
        raise ValidationFailed("Choose someone who works this case.", field="gathered_by")
    interviewee = data.source.interviewee
    if interviewee is None and data.interviewee_party_id is not None:
        raise ValidationFailed("Only an interview has an interviewee.", field="interviewee")
    if interviewee is not None:
        parties = {p.id for p, _ in case_repo.parties(ctx.db, case.id)}
        if data.interviewee_party_id not in parties:
            raise ValidationFailed(
                "Choose the person interviewed among the case's people.", field="interviewee"
            )
    corroboration = clean_text(data.corroboration, field="corroboration", limit=CORROBORATION_MAX)
    if data.corroborated and corroboration is None:
        raise ValidationFailed("Say what corroborates it.", field="corroboration")
    summary = None
    if data.record_class is not RecordClass.EDUCATION:
        summary = clean_text(data.team_summary, field="team_summary", limit=SUMMARY_FOR_TEAM_MAX)
    return {
        "source": data.source,
        "learned_on": data.learned_on,
        "statement": statement,
        "gathered_by": data.gathered_by,
        "interviewee_party_id": data.interviewee_party_id,
        "corroborated": data.corroborated,
        "corroboration": corroboration if data.corroborated else None,
        "team_summary": summary,
        "offence": data.offence,
    }


def add_fact(ctx: ServiceContext, number: str, data: FactData) -> Staged[int]:
    """Record a fact on the case; the value is its id (also the id of its series).

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    :raises ValidationFailed: a rule of ``_checked``, or a class the actor does not file.
    """
    loaded = assessing(ctx, number)
    check_may_file(loaded.access, data.record_class)
    row = Fact(
        case_id=loaded.case.id,
        version=1,
        record_class=data.record_class,
        author_id=loaded.access.actor.user_id,
        created_at=ctx.now,
        **_checked(ctx, loaded, data),
    )
    ctx.db.add(row)
    ctx.db.flush()
    row.series_id = row.id
    return staged(
        row.id,
        loaded.event(
            AuditAction.CASE_FACT_ADDED,
            object_type="fact",
            object_id=row.id,
            purpose=f"{data.source.value}, {data.record_class.value}",
        ),
    )


def check_correctable(ctx: ServiceContext, loaded: CaseInScope, fact_id: int) -> Fact:
    """The fact to correct; refused when not the case's, not readable, or not current.

    :raises NotFound: no such fact the actor may read on the case (recorded).
    :raises ValidationFailed: a newer version exists.
    """
    case = loaded.case
    earlier = repository.fact(ctx.db, loaded.access, case.id, fact_id)
    if earlier is None:
        refuse(
            ctx,
            object_type="fact",
            object_id=fact_id,
            reason="not readable",
            case_id=case.id,
            school_id=case.school_id,
        )
    if earlier.superseded_by_id is not None:
        raise ValidationFailed("This version was corrected already; correct the newest one.")
    return earlier


def correct_fact(ctx: ServiceContext, number: str, fact_id: int, data: FactData) -> Staged[int]:
    """Add a corrected version of a fact; the earlier one stays, marked as superseded.

    The record class stays the fact's: a correction cannot move a counseling record into the
    team's education record.

    :raises NotFound: no such fact the actor may read on the case (recorded).
    :raises ValidationFailed: see ``add_fact``, or the fact was corrected meanwhile.
    """
    loaded = assessing(ctx, number)
    case = loaded.case
    earlier = check_correctable(ctx, loaded, fact_id)
    row = Fact(
        case_id=case.id,
        series_id=earlier.series_id,
        version=earlier.version + 1,
        record_class=earlier.record_class,
        author_id=loaded.access.actor.user_id,
        created_at=ctx.now,
        **_checked(ctx, loaded, data),
    )
    ctx.db.add(row)
    ctx.db.flush()
    earlier.superseded_by_id = row.id
    return staged(
        row.id,
        loaded.event(
            AuditAction.CASE_FACT_CORRECTED,
            object_type="fact",
            object_id=row.id,
            purpose=f"version {row.version} of fact {earlier.series_id}",
        ),
    )
