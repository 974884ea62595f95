"""Imports every model module so each store's metadata is complete (for Alembic and tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

from btam import housekeeping, store_probe
from btam.accounts import models as accounts_models
from btam.assessment import models as assessment_models
from btam.audit import applied as audit_applied
from btam.audit import models as audit_models
from btam.cases import models as case_models
from btam.db import AuditBase, CaseBase
from btam.intake import models as intake_models
from btam.meetings import models as meeting_models
from btam.people import models as people_models
from btam.plans import models as plan_models
from btam.plans import referral_models
from btam.security import keys as key_models

# Importing a model module registers its tables on its store's metadata.
MODEL_MODULES = (
    accounts_models,
    key_models,
    people_models,
    case_models,
    assessment_models,
    referral_models,
    plan_models,
    intake_models,
    meeting_models,
    audit_applied,
    store_probe,
    housekeeping,
    audit_models,
)


def metadata_for(store: str) -> MetaData:
    """The metadata of the ``case`` or ``audit`` store."""
    if store == "case":
        return CaseBase.metadata
    if store == "audit":
        return AuditBase.metadata
    raise ValueError(f"unknown store {store!r}")
