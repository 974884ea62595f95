"""Determinations: the team's classification and level of concern, decided by a quorum.

The recorder names the participants (members of the case's team, or of the case, whose
disciplines meet the model's quorum, the recorder among them). Every other participant
confirms it, or objects with a reason, with their own sign-in. Until all have confirmed the
determination is pending and changes nothing; once they have, the case takes its level and
moves through the lifecycle (to management, or closed for "not a threat"). An objection
leaves it disputed. A new determination is a new version; none overwrites another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from btam.access.actor import ROLES_WITH_DISCIPLINE
from btam.access.policy import Act
from btam.access.refusal import refuse
from btam.accounts import repository as accounts_repo
from btam.assessment import dto, repository
from btam.assessment.models import Determination, DeterminationFact, Participant
from btam.assessment.services.answers import cited
from btam.assessment.services.common import assessing, model_of
from btam.assessment.terms import DeterminationStatus, Offence, Response
from btam.audit.actions import AuditAction
from btam.cases.lifecycle import CaseChange, Transition
from btam.cases.services.guard import CaseInScope, access_for, load_case
from btam.cases.services.lifecycle import transition
from btam.cases.services.team import case_workers
from btam.cases.terms import CaseStatus
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.text import clean_text

RATIONALE_MAX = 20_000
OBJECTION_MAX = 5_000


class QuorumMissing(ValidationFailed):
    """The participants' disciplines do not meet the model's quorum (the message names what)."""


@dataclass(frozen=True)
class DeterminationData:
    classification: str
    level: str
    rationale: str
    facts: Sequence[int] = ()
    participants: Sequence[int] = ()
    # Of the participants: who knows the subject (a Florida-style quorum needs one).
    knows_subject: Sequence[int] = ()
    offence: Offence | None = None


def candidates(ctx: ServiceContext, loaded: CaseInScope) -> list[dto.Candidate]:
    """Who may take part in a determination: team leads and members working the case."""
    return [
        dto.Candidate(w.user_id, w.name, w.discipline.label if w.discipline else "")
        for w in case_workers(ctx, loaded)
        if w.role in ROLES_WITH_DISCIPLINE and w.discipline is not None
    ]


def record_determination(ctx: ServiceContext, number: str, data: DeterminationData) -> Staged[int]:
    """Record a determination (pending until every participant confirms); the value is its id.

    A pending determination recorded before it is superseded: only the newest one waits.

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    :raises QuorumMissing: the participants' disciplines do not meet the quorum.
    :raises ValidationFailed: a class or level the model lacks, no rationale, the recorder
        not among the participants, a participant who does not work the case, a fact not
        readable.
    """
    loaded = assessing(ctx, number)
    case, actor = loaded.case, loaded.access.actor
    model = model_of(ctx, case)
    try:
        model.classification(data.classification)
    except KeyError:
        raise ValidationFailed("Choose a classification.", field="classification") from None
    try:
        model.level(data.level)
    except KeyError:
        raise ValidationFailed("Choose a level of concern.", field="level") from None
    rationale = clean_text(data.rationale, field="rationale", limit=RATIONALE_MAX, required=True)
    series = cited(ctx, loaded, data.facts)
    if not series:
        raise ValidationFailed("Cite the facts the determination rests on.", field="facts")
    eligible = {c.user_id: c for c in candidates(ctx, loaded)}
    chosen = sorted(set(data.participants) | {actor.user_id})
    if actor.user_id not in eligible:
        raise ValidationFailed(
            "Only a team lead or member working the case records a determination.",
            field="participants",
        )
    if not set(chosen) <= set(eligible):
        raise ValidationFailed(
            "Choose participants among those who work this case.", field="participants"
        )
    knows = set(data.knows_subject) & set(chosen)
    disciplines = {_discipline_key(ctx, user_id) for user_id in chosen}
    missing = model.missing_disciplines(disciplines, bool(knows))
    if missing:
        raise QuorumMissing(
            "The participants do not make a quorum; missing: " + ", ".join(missing) + ".",
            field="participants",
        )
    for older in repository.determinations(ctx.db, case.id):
        if older.status is DeterminationStatus.PENDING:
            older.status = DeterminationStatus.SUPERSEDED
            older.decided_at = ctx.now
    row = Determination(
        case_id=case.id,
        version=repository.next_version(ctx.db, case.id),
        model_id=model.id,
        model_version=model.version,
        classification=data.classification,
        level=data.level,
        offence=data.offence,
        rationale=rationale,
        status=DeterminationStatus.PENDING,
        recorded_by=actor.user_id,
        recorded_at=ctx.now,
    )
    ctx.db.add(row)
    ctx.db.flush()
    for user_id in chosen:
        ctx.db.add(
            Participant(
                determination_id=row.id,
                case_id=case.id,
                user_id=user_id,
                discipline=_discipline_key(ctx, user_id),
                knows_subject=user_id in knows,
                # The recorder confirms by recording.
                response=Response.CONFIRMED if user_id == actor.user_id else Response.PENDING,
                responded_at=ctx.now if user_id == actor.user_id else None,
            )
        )
    for s in series:
        ctx.db.add(DeterminationFact(determination_id=row.id, fact_series_id=s))
    ctx.db.flush()
    return staged(
        row.id,
        loaded.event(
            AuditAction.CASE_DETERMINATION_RECORDED,
            object_type="determination",
            object_id=row.id,
            purpose=f"v{row.version} {model.ref}: {row.classification}, {row.level}, pending",
        ),
    )


def _discipline_key(ctx: ServiceContext, user_id: int) -> str:
    user = accounts_repo.user(ctx.db, user_id)
    return user.discipline.value if user is not None and user.discipline else ""


def respond(
    ctx: ServiceContext,
    number: str,
    determination_id: int,
    *,
    confirm: bool,
    objection: str = "",
) -> Staged[DeterminationStatus]:
    """A participant confirms the determination, or objects with a reason, as itself.

    When the last participant confirms, the case takes the determination's level and moves
    through the lifecycle in the same unit of work; an objection leaves it disputed.

    :raises NotFound: no such determination on a case the actor may view (recorded).
    :raises AccessDenied: the actor is not a participant (recorded).
    :raises CaseClosed: the case is closed.
    :raises ValidationFailed: answered already, no longer pending, or an objection without a
        reason.
    """
    loaded = load_case(ctx, number, Act.VIEW_CASE, change=CaseChange.ASSESSMENT)
    case, actor = loaded.case, loaded.access.actor
    row = repository.determination(ctx.db, case.id, determination_id)
    if row is None:
        refuse(
            ctx,
            object_type="determination",
            object_id=determination_id,
            reason="no such determination",
            case_id=case.id,
            school_id=case.school_id,
        )
    everyone = repository.participants(ctx.db, [row.id])
    mine = next((p for p in everyone if p.user_id == actor.user_id), None)
    if mine is None:
        refuse(
            ctx,
            object_type="determination",
            object_id=row.id,
            reason="not a participant",
            case_id=case.id,
            school_id=case.school_id,
            hide=False,
        )
    if row.status is not DeterminationStatus.PENDING:
        raise ValidationFailed(f"This determination is {row.status.label.lower()}.")
    if mine.response is not Response.PENDING:
        raise ValidationFailed("You have answered already.")
    mine.responded_at = ctx.now
    if not confirm:
        mine.response = Response.OBJECTED
        mine.objection = clean_text(
            objection, field="objection", limit=OBJECTION_MAX, required=True
        )
        row.status = DeterminationStatus.DISPUTED
        row.decided_at = ctx.now
        return staged(
            row.status,
            loaded.event(
                AuditAction.CASE_DETERMINATION_OBJECTED,
                object_type="determination",
                object_id=row.id,
                purpose=f"v{row.version} disputed",
            ),
        )
    mine.response = Response.CONFIRMED
    result: Staged[DeterminationStatus] = staged(
        row.status,
        loaded.event(
            AuditAction.CASE_DETERMINATION_CONFIRMED,
            object_type="determination",
            object_id=row.id,
            purpose=f"v{row.version} confirmed by a participant",
        ),
    )
    if all(p.response is Response.CONFIRMED for p in everyone):
        row.status = DeterminationStatus.CONFIRMED
        row.decided_at = ctx.now
        result = staged(row.status, *result.events) + _apply(ctx, loaded, row)
    return result


def _apply(ctx: ServiceContext, loaded: CaseInScope, row: Determination) -> Staged[object]:
    """The case takes a confirmed determination: its level, and the lifecycle's next status."""
    case = loaded.case
    model = model_of(ctx, case)
    reason = f"Determination v{row.version} confirmed: " + (row.rationale or "")
    if model.classification(row.classification).closes_case:
        return transition(ctx, loaded, Transition.CLOSE, reason=reason, level=row.level)
    if case.status is CaseStatus.ASSESSMENT:
        return transition(ctx, loaded, Transition.BEGIN_MANAGEMENT, reason=reason, level=row.level)
    if case.level != row.level:
        return transition(ctx, loaded, Transition.SET_LEVEL, reason=reason, level=row.level)
    return staged(None)


def to_confirm(ctx: ServiceContext) -> list[dto.ToConfirm]:
    """Determinations waiting for the signed-in user's own confirmation, oldest first."""
    access = access_for(ctx)
    waiting = repository.pending_for(ctx.db, access)
    names = accounts_repo.display_names(ctx.db, (d.recorded_by for _p, d, _c in waiting))
    items = []
    for _participant, row, case in waiting:
        model = model_of(ctx, case)
        items.append(
            dto.ToConfirm(
                case_number=case.number,
                determination_id=row.id,
                version=row.version,
                classification_label=model.classification(row.classification).label,
                level_label=model.level(row.level).label,
                recorded_by=names.get(row.recorded_by, ""),
                recorded_at=row.recorded_at,
            )
        )
    return items
