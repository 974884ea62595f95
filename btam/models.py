"""Imports every model module so each store's metadata is complete (for Alembic and tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

import btam.accounts.models  # noqa: F401  (registers the tables)
import btam.audit.models  # noqa: F401  (registers the audit tables)
from btam.db import AuditBase, CaseBase


def metadata_for(store: str) -> MetaData:
    """The metadata of the ``case`` or ``audit`` store."""
    if store == "case":
        return CaseBase.metadata
    if store == "audit":
        return AuditBase.metadata
    raise ValueError(f"unknown store {store!r}")
