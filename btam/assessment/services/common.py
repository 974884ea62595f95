"""What every assessment service shares: the case's model, and the case loaded for assessing."""

from __future__ import annotations

from btam.access.policy import Act
from btam.assessment.catalog import DEFAULT_MODEL_ID, AssessmentModel, UnknownModel
from btam.cases.lifecycle import CaseChange
from btam.cases.models import Case
from btam.cases.services.guard import CaseInScope, load_case
from btam.context import ServiceContext


def model_of(ctx: ServiceContext, case: Case) -> AssessmentModel:
    """The assessment model (and version) the case follows; an older case, the default's first.

    :raises UnknownModel: the case names a model the catalog no longer ships (never: a
        published model file is never removed).
    """
    if case.assessment_model and case.assessment_model_version:
        return ctx.catalog.get(case.assessment_model, case.assessment_model_version)
    return ctx.catalog.get(DEFAULT_MODEL_ID, 1)


def assessing(ctx: ServiceContext, number: str) -> CaseInScope:
    """The case, for a change to its assessment by the team.

    :raises NotFound, AccessDenied, CaseClosed: see ``load_case``.
    """
    return load_case(ctx, number, Act.ASSESS, change=CaseChange.ASSESSMENT)


__all__ = ["UnknownModel", "assessing", "model_of"]
