"""Answers to the questions of the case's model: yes, no or unknown, with a note and the facts
they rest on (links, never copied text). The newest answer to a question counts; older ones
stay."""

from __future__ import annotations

from collections.abc import Sequence

from btam.assessment import repository
from btam.assessment.models import Answer, AnswerFact
from btam.assessment.services.common import assessing, model_of
from btam.audit.actions import AuditAction
from btam.cases.services.guard import CaseInScope
from btam.context import ServiceContext, Staged, staged
from btam.errors import ValidationFailed
from btam.text import clean_text

NOTE_MAX = 5_000


def citable_series(ctx: ServiceContext, loaded: CaseInScope) -> set[int]:
    """The fact series of the case the actor may cite: those it reads in full, and those of
    another discipline whose author shared a summary with the team (a link reveals nothing)."""
    access, case_id = loaded.access, loaded.case.id
    facts = [
        *repository.current_facts(ctx.db, access, case_id),
        *(f for f in repository.hidden_facts(ctx.db, access, case_id) if f.team_summary),
    ]
    return {f.series_id for f in facts if f.series_id is not None}


def cited(ctx: ServiceContext, loaded: CaseInScope, series: Sequence[int]) -> list[int]:
    """``series`` as a sorted list of distinct facts the actor may cite.

    :raises ValidationFailed: a fact that is not the case's, or not readable by the actor.
    """
    wanted = sorted(set(series))
    if not set(wanted) <= citable_series(ctx, loaded):
        raise ValidationFailed(
            "Cite only facts of this case that you can read or that have a summary.",
            field="facts",
        )
    return wanted


def answer_question(
    ctx: ServiceContext,
    number: str,
    *,
    question_key: str,
    value: str,
    note: str = "",
    facts: Sequence[int] = (),
) -> Staged[None]:
    """Answer one question of the case's model, citing the facts the answer rests on.

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    :raises ValidationFailed: no such question or answer in the model, a note too long, or a
        fact that is not the case's or not readable.
    """
    loaded = assessing(ctx, number)
    case = loaded.case
    model = model_of(ctx, case)
    try:
        model.question(question_key)
    except KeyError:
        raise ValidationFailed("Choose one of the model's questions.") from None
    if value not in {a.key for a in model.answers}:
        raise ValidationFailed("Answer yes, no or unknown.", field="value")
    text = clean_text(note, field="note", limit=NOTE_MAX)
    series = cited(ctx, loaded, facts)
    earlier = repository.current_answer(ctx.db, case.id, question_key)
    row = Answer(
        case_id=case.id,
        question_key=question_key,
        value=value,
        note=text,
        author_id=loaded.access.actor.user_id,
        created_at=ctx.now,
    )
    ctx.db.add(row)
    ctx.db.flush()
    if earlier is not None:
        earlier.superseded_by_id = row.id
    for s in series:
        ctx.db.add(AnswerFact(answer_id=row.id, fact_series_id=s))
    return staged(
        None,
        loaded.event(
            AuditAction.CASE_ANSWER_RECORDED,
            object_type="answer",
            object_id=row.id,
            purpose=f"{question_key}: {value}, {len(series)} facts",
        ),
    )
