"""district time zone

Revision ID: 0011_district_time_zone
Revises: 0010_assessment
Create Date: 2026-12-01

The zone the district reads and types times in. Times stay stored in UTC; a district made
before this shows them in UTC until its administrator chooses its zone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_district_time_zone"
down_revision = "0010_assessment"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "districts",
        sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"),
    )


def downgrade() -> None:
    op.drop_column("districts", "time_zone")
