"""audit store probe and an index on entries by action and object

Revision ID: 0002_audit_probe
Revises: 0001_audit
Create Date: 2026-12-01

The health check proves the audit store takes an INSERT without touching the chain: a row
goes into ``audit_store_probe`` and is rolled back, so the table stays empty. The owner's
default privileges (``btam audit role-sql``) give the application's role INSERT and SELECT
here, as on every audit table, and nothing more.

The index on ``(action, object_id)`` keeps the look-ups made under the append lock short
(has this grant been reviewed? which changes were marked as not applied?).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0002_audit_probe"
down_revision = "0001_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_store_probe",
        sa.Column("probed_at", btam.db.UTCDateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON audit_store_probe FROM PUBLIC")
    op.create_index("ix_audit_entries_action_object", "audit_entries", ["action", "object_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_entries_action_object", table_name="audit_entries")
    op.drop_table("audit_store_probe")
