"""The assessment as the case page shows it: facts the viewer may read, the model's questions
with their answers, determinations with their participants, notices, and what is still due.
Also the assessment's part of the case's timeline."""

from __future__ import annotations

from collections.abc import Sequence

from btam.access.policy import Act
from btam.accounts import repository as accounts_repo
from btam.assessment import dto, repository
from btam.assessment.catalog import AssessmentModel
from btam.assessment.models import Determination, Fact, Notice, Participant
from btam.assessment.services.common import model_of
from btam.assessment.services.determinations import candidates
from btam.assessment.terms import (
    DeterminationStatus,
    NoticeKind,
    Offence,
    Response,
)
from btam.cases import repository as case_repo
from btam.cases.dto import TimelineItem
from btam.cases.services.guard import CaseInScope
from btam.context import ServiceContext
from btam.people.terms import Part, PersonKind

LIVE = frozenset({DeterminationStatus.PENDING, DeterminationStatus.CONFIRMED})


def assessment_view(ctx: ServiceContext, loaded: CaseInScope) -> dto.AssessmentView | None:
    """The case's assessment for a viewer who may view the case (None for a header-only view).

    Nothing is recorded here: the case page's view is recorded once, by ``view_case``.
    """
    if not loaded.may(Act.VIEW_CASE):
        return None
    case, access = loaded.case, loaded.access
    model = model_of(ctx, case)
    readable = repository.current_facts(ctx.db, access, case.id)
    hidden = [f for f in repository.hidden_facts(ctx.db, access, case.id) if f.team_summary]
    older = repository.fact_versions(ctx.db, access, case.id)
    answers = repository.current_answers(ctx.db, case.id)
    links = repository.answer_links(ctx.db, (a.id for a in answers))
    rows = repository.determinations(ctx.db, case.id)
    people = repository.participants(ctx.db, (d.id for d in rows))
    det_links = repository.determination_links(ctx.db, (d.id for d in rows))
    notices = repository.notices(ctx.db, case.id)
    parties = case_repo.parties(ctx.db, case.id)
    names = accounts_repo.display_names(
        ctx.db,
        [
            *(f.author_id for f in [*readable, *hidden, *older]),
            *(f.gathered_by for f in [*readable, *hidden] if f.gathered_by),
            *(a.author_id for a in answers),
            *(d.recorded_by for d in rows),
            *(p.user_id for p in people),
            *(n.recorded_by for n in notices),
        ],
    )
    party_names = {p.id: f"{person.full_name} ({p.part.label.lower()})" for p, person in parties}
    earlier: dict[int, list[dto.FactVersion]] = {}
    for f in older:
        earlier.setdefault(f.series_id or f.id, []).append(
            dto.FactVersion(f.id, f.version, f.statement, names.get(f.author_id, ""), f.created_at)
        )
    facts = [_fact_view(f, names, party_names, earlier, readable=True) for f in readable] + [
        _fact_view(f, names, party_names, earlier, readable=False) for f in hidden
    ]
    facts.sort(key=lambda f: (f.learned_on, f.series_id))
    by_question = {a.question_key: a for a in answers}
    questions = [
        dto.QuestionView(
            key=q.key,
            theme=model.theme(q.theme).label,
            text=q.text,
            guidance=q.guidance,
            protective=q.protective,
            answer=(
                dto.AnswerView(
                    value=a.value,
                    value_label=model.answer(a.value).label,
                    note=a.note,
                    facts=links.get(a.id, []),
                    author=names.get(a.author_id, ""),
                    created_at=a.created_at,
                )
                if (a := by_question.get(q.key)) is not None
                else None
            ),
        )
        for q in model.questions
    ]
    determinations = [
        _determination_view(ctx, d, people, det_links, names, access.actor.user_id) for d in rows
    ]
    subject_is_student = any(
        p.part is Part.SUBJECT and person.kind is PersonKind.STUDENT for p, person in parties
    )
    return dto.AssessmentView(
        model_name=model.name,
        model_ref=model.ref,
        questions=questions,
        facts=facts,
        determinations=determinations,
        notices=[_notice_view(n, names) for n in notices],
        outstanding=_outstanding(ctx, case.id, rows, people, notices, names, subject_is_student),
        classifications=[dto.Choice(c.key, c.label) for c in model.classifications],
        levels=[dto.Choice(level.key, level.label) for level in model.levels],
        candidates=candidates(ctx, loaded),
        interview_guides=dict(model.interview_guides),
        parties=[dto.Choice(str(p.id), party_names[p.id]) for p, _person in parties],
        quorum=[model.quorum.labels[k] for k in model.quorum.disciplines],
        quorum_needs_acquaintance=model.quorum.someone_who_knows_the_subject,
        can_assess=loaded.may(Act.ASSESS) and case.status.value != "closed",
    )


def _fact_view(
    f: Fact,
    names: dict[int, str],
    party_names: dict[int, str],
    earlier: dict[int, list[dto.FactVersion]],
    *,
    readable: bool,
) -> dto.FactView:
    return dto.FactView(
        id=f.id,
        series_id=f.series_id or f.id,
        version=f.version,
        source=f.source,
        learned_on=f.learned_on,
        gathered_by=names.get(f.gathered_by) if f.gathered_by else None,
        interviewee=party_names.get(f.interviewee_party_id or 0) if readable else None,
        corroborated=f.corroborated,
        corroboration=f.corroboration if readable else None,
        record_class=f.record_class,
        offence=f.offence,
        statement=f.statement if readable else None,
        team_summary=f.team_summary,
        author=names.get(f.author_id, ""),
        created_at=f.created_at,
        earlier=earlier.get(f.series_id or f.id, []) if readable else [],
    )


def _determination_view(
    ctx: ServiceContext,
    d: Determination,
    people: Sequence[Participant],
    links: dict[int, list[int]],
    names: dict[int, str],
    viewer: int,
) -> dto.DeterminationView:
    model = ctx.catalog.get(d.model_id, d.model_version)
    mine = [p for p in people if p.determination_id == d.id]
    classification = model.classification(d.classification)
    return dto.DeterminationView(
        id=d.id,
        version=d.version,
        model=model.ref,
        classification=d.classification,
        classification_label=classification.label,
        substantive=classification.substantive,
        level=d.level,
        level_label=model.level(d.level).label,
        offence=d.offence,
        rationale=d.rationale,
        status=d.status,
        recorded_by=names.get(d.recorded_by, ""),
        recorded_at=d.recorded_at,
        decided_at=d.decided_at,
        participants=[
            dto.ParticipantView(
                user_id=p.user_id,
                name=names.get(p.user_id, ""),
                discipline=_discipline_label(model, p.discipline),
                knows_subject=p.knows_subject,
                response=p.response,
                responded_at=p.responded_at,
                objection=p.objection,
            )
            for p in mine
        ],
        facts=links.get(d.id, []),
        awaits_me=d.status is DeterminationStatus.PENDING
        and any(p.user_id == viewer and p.response is Response.PENDING for p in mine),
    )


def _discipline_label(model: AssessmentModel, key: str) -> str:
    return model.quorum.labels.get(key) or key.replace("_", " ").capitalize()


def _notice_view(n: Notice, names: dict[int, str]) -> dto.NoticeView:
    return dto.NoticeView(
        id=n.id,
        kind=n.kind,
        recipient=n.recipient,
        given_at=n.given_at,
        method=n.method,
        reached=n.reached,
        note=n.note,
        offence=n.offence,
        recorded_by=names.get(n.recorded_by, ""),
    )


def _outstanding(
    ctx: ServiceContext,
    case_id: int,
    rows: Sequence[Determination],
    people: Sequence[Participant],
    given: Sequence[Notice],
    names: dict[int, str],
    subject_is_student: bool,
) -> list[dto.Outstanding]:
    """What the case still owes: confirmations, notices, reports of offences."""
    items: list[dto.Outstanding] = []
    live = [d for d in rows if d.status in LIVE]
    for d in live:
        if d.status is DeterminationStatus.PENDING:
            waiting = [
                names.get(p.user_id, "")
                for p in people
                if p.determination_id == d.id and p.response is Response.PENDING
            ]
            items.append(
                dto.Outstanding(
                    "confirmation",
                    f"Determination v{d.version} waits for confirmation by "
                    + ", ".join(waiting)
                    + ".",
                )
            )
        break
    substantive = [
        d
        for d in live
        if ctx.catalog.get(d.model_id, d.model_version).classification(d.classification).substantive
    ]
    if subject_is_student and substantive:
        since = min(d.recorded_at for d in substantive)
        for kind in (NoticeKind.SUPERINTENDENT, NoticeKind.PARENT):
            if not any(n.kind is kind and n.given_at >= since for n in given):
                items.append(dto.Outstanding(kind.value, f"{kind.label}: not recorded yet."))
    offences = {Offence(o) for _s, o in repository.fact_offences(ctx.db, case_id)}
    offences |= {d.offence for d in live if d.offence is not None}
    for offence in sorted(offences):
        authority = offence.authority
        if not any(n.kind is authority and n.offence is offence for n in given):
            items.append(
                dto.Outstanding(
                    authority.value,
                    f"Duty to report — {offence.label}: {authority.label.lower()} not recorded.",
                )
            )
    return items


def timeline(view: dto.AssessmentView | None) -> list[TimelineItem]:
    """The assessment's events, for the case's timeline: facts, answers, determinations and
    each participant's answer, notices; only what the viewer may read."""
    if view is None:
        return []
    items: list[TimelineItem] = []
    for f in view.facts:
        what = f.source.label if f.readable else f"{f.record_class.label} fact"
        items.append(TimelineItem(f.created_at, "fact", f"Fact {f.series_id}: {what}", f.author))
    for q in view.questions:
        if q.answer is not None:
            text = f"Answered {q.theme.lower()}: {q.answer.value_label.lower()}"
            items.append(TimelineItem(q.answer.created_at, "answer", text, q.answer.author))
    for d in view.determinations:
        label = f"Determination v{d.version}: {d.classification_label}, {d.level_label}"
        items.append(TimelineItem(d.recorded_at, "determination", label, d.recorded_by))
        for p in d.participants:
            if p.responded_at is not None and p.name != d.recorded_by:
                text = f"Determination v{d.version} {p.response.label.lower()}"
                items.append(TimelineItem(p.responded_at, "determination", text, p.name))
    for n in view.notices:
        items.append(TimelineItem(n.given_at, "notice", n.kind.label, n.recorded_by))
    return items
