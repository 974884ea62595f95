"""case history

Revision ID: 0005_case_history
Revises: 0004_intake
Create Date: 2026-12-01

Every change of a case's status or level of concern, with its transition and its reason
(encrypted under the case's key): the lifecycle service is the only writer.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0005_case_history"
down_revision = "0004_intake"
branch_labels = None
depends_on = None

TRANSITIONS = (
    "begin_management",
    "begin_monitoring",
    "resume_management",
    "reassess",
    "close",
    "reopen_assessment",
    "reopen_management",
    "set_level",
)
STATUSES = ("assessment", "management", "monitoring", "closed")


def upgrade() -> None:
    op.create_table(
        "case_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "transition",
            sa.Enum(*TRANSITIONS, name="transition", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "from_status",
            sa.Enum(*STATUSES, name="casestatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "to_status",
            sa.Enum(*STATUSES, name="casestatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("from_level", sa.String(length=32), nullable=True),
        sa.Column("to_level", sa.String(length=32), nullable=True),
        sa.Column("changed_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("reason_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_status_changes_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["users.id"], name=op.f("fk_case_status_changes_changed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_status_changes")),
    )
    op.create_index(
        op.f("ix_case_status_changes_case_id"), "case_status_changes", ["case_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_case_status_changes_case_id"), table_name="case_status_changes")
    op.drop_table("case_status_changes")
