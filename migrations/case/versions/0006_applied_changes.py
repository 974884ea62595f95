"""applied changes and the store probe

Revision ID: 0006_applied_changes
Revises: 0005_case_history
Create Date: 2026-12-01

``applied_changes`` holds one row per audit entry whose change the case store committed
(the unit of work writes it in the change's own transaction); ``btam audit reconcile``
compares it with the trail. ``case_store_probe`` is where ``/healthz`` proves the store takes
an INSERT; its row is always rolled back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0006_applied_changes"
down_revision = "0005_case_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applied_changes",
        sa.Column("audit_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("applied_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("audit_seq", name=op.f("pk_applied_changes")),
    )
    op.create_table(
        "case_store_probe",
        sa.Column("probed_at", btam.db.UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("case_store_probe")
    op.drop_table("applied_changes")
