"""person mentions, merged people, key bindings

Revision ID: 0009_person_mentions
Revises: 0008_tip_limits
Create Date: 2026-12-02

``report_mentions`` keeps the people a staff report names as the reporter typed them
(encrypted under the report's key, with their blind indexes) until the team links each to a
person at triage, so that no reporter learns whether a name or student id is known.
``people`` gains the tombstone of a duplicate merged into another record.
``data_key_bindings`` binds a report's key to the key of the case it was triaged into:
destroying the case's key destroys the report's too. Reports already triaged into a case are
bound here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0009_person_mentions"
down_revision = "0008_tip_limits"
branch_labels = None
depends_on = None

PARTS = ("subject", "target", "witness", "reporter", "parent")
KINDS = ("student", "staff", "other")


def upgrade() -> None:
    op.create_table(
        "data_key_bindings",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("bound_to", sa.String(length=64), nullable=False),
        sa.Column("bound_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_data_key_bindings")),
    )
    with op.batch_alter_table("data_key_bindings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_key_bindings_bound_to"), ["bound_to"], unique=False
        )
    op.create_table(
        "report_mentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column(
            "part", sa.Enum(*PARTS, name="part", native_enum=False, length=32), nullable=False
        ),
        sa.Column(
            "kind", sa.Enum(*KINDS, name="personkind", native_enum=False, length=32), nullable=False
        ),
        sa.Column("student_id_index", sa.String(length=64), nullable=True),
        sa.Column("name_dob_index", sa.String(length=64), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("linked_by", sa.Integer(), nullable=True),
        sa.Column("given_name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("family_name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("date_of_birth_text_enc", sa.LargeBinary(), nullable=True),
        sa.Column("student_number_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["linked_by"], ["users.id"], name=op.f("fk_report_mentions_linked_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_report_mentions_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_mentions_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_mentions")),
    )
    with op.batch_alter_table("report_mentions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_mentions_name_dob_index"), ["name_dob_index"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_mentions_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_mentions_report_id"), ["report_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_mentions_student_id_index"), ["student_id_index"], unique=False
        )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("merged_at", btam.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("merged_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_people_merged_by_users"), "users", ["merged_by"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_people_merged_into_id_people"), "people", ["merged_into_id"], ["id"]
        )
    _bind_triaged_reports()


def _bind_triaged_reports() -> None:
    reports = sa.table("reports", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer))
    bindings = sa.table(
        "data_key_bindings",
        sa.column("scope", sa.String),
        sa.column("bound_to", sa.String),
        sa.column("bound_at", btam.db.UTCDateTime(timezone=True)),
    )
    conn = op.get_bind()
    now = datetime.now(UTC)
    rows = [
        {"scope": f"report:{report_id}", "bound_to": f"case:{case_id}", "bound_at": now}
        for report_id, case_id in conn.execute(
            sa.select(reports.c.id, reports.c.case_id).where(reports.c.case_id.is_not(None))
        )
    ]
    if rows:
        conn.execute(bindings.insert(), rows)


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_people_merged_into_id_people"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_people_merged_by_users"), type_="foreignkey")
        batch_op.drop_column("merged_by")
        batch_op.drop_column("merged_at")
        batch_op.drop_column("merged_into_id")
    with op.batch_alter_table("report_mentions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_mentions_student_id_index"))
        batch_op.drop_index(batch_op.f("ix_report_mentions_report_id"))
        batch_op.drop_index(batch_op.f("ix_report_mentions_person_id"))
        batch_op.drop_index(batch_op.f("ix_report_mentions_name_dob_index"))
    op.drop_table("report_mentions")
    with op.batch_alter_table("data_key_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_key_bindings_bound_to"))
    op.drop_table("data_key_bindings")
