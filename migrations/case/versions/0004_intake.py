"""intake

Revision ID: 0004_intake
Revises: 0003_cases
Create Date: 2026-11-23

Reports from every channel, anonymous tips with their follow-up code (a slow hash only) and
messages, the people a report names, its files and the immediate actions of an imminent
danger. Narratives, places and files arrive as ``_enc`` columns only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0004_intake"
down_revision = "0003_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "staff",
                "student",
                "parent",
                "anonymous_tip",
                "school_resource_officer",
                "law_enforcement",
                "social_media",
                "other",
                name="channel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "category",
            sa.Enum(
                "violence",
                "weapon",
                "bullying",
                "self_harm",
                "drugs",
                "sexual_abuse",
                "other",
                name="tipcategory",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("received_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("reporter_confidential", sa.Boolean(), nullable=False),
        sa.Column("imminent", sa.Boolean(), nullable=False),
        sa.Column("imminent_acknowledged_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("imminent_acknowledged_by", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("received", "triaged", name="reportstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("screen_imminent", sa.Boolean(), nullable=True),
        sa.Column("screen_threat_communicated", sa.Boolean(), nullable=True),
        sa.Column("screen_someone_in_fear", sa.Boolean(), nullable=True),
        sa.Column("screen_has_plan", sa.Boolean(), nullable=True),
        sa.Column("screen_manageable_under_plan", sa.Boolean(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "opened_case",
                "added_to_case",
                "suicide_protocol",
                "no_threat",
                name="triageoutcome",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "no_threat_action",
            sa.Enum(
                "discipline",
                "counselor",
                "information_only",
                name="nothreataction",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("triaged_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("triaged_by", sa.Integer(), nullable=True),
        sa.Column("occurred_enc", sa.LargeBinary(), nullable=True),
        sa.Column("location_enc", sa.LargeBinary(), nullable=True),
        sa.Column("narrative_enc", sa.LargeBinary(), nullable=True),
        sa.Column("who_enc", sa.LargeBinary(), nullable=True),
        sa.Column("outcome_reason_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_reports_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["district_id"], ["districts.id"], name=op.f("fk_reports_district_id_districts")
        ),
        sa.ForeignKeyConstraint(
            ["imminent_acknowledged_by"],
            ["users.id"],
            name=op.f("fk_reports_imminent_acknowledged_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["users.id"], name=op.f("fk_reports_reporter_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_reports_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["triaged_by"], ["users.id"], name=op.f("fk_reports_triaged_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_school_id"), ["school_id"], unique=False)

    op.create_table(
        "report_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "called_911",
                "lockdown",
                "officer_notified",
                "parents_notified",
                name="immediateaction",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("taken_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken_by_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_report_actions_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_actions_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_actions")),
    )
    with op.batch_alter_table("report_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_actions_report_id"), ["report_id"], unique=False
        )

    op.create_table(
        "report_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filename_enc", sa.LargeBinary(), nullable=True),
        sa.Column("content_b64_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_attachments_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_attachments")),
    )
    with op.batch_alter_table("report_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_attachments_report_id"), ["report_id"], unique=False
        )

    op.create_table(
        "report_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "part",
            sa.Enum(
                "subject",
                "target",
                "witness",
                "reporter",
                "parent",
                name="part",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_report_people_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_people_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_people")),
    )
    with op.batch_alter_table("report_people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_people_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_people_report_id"), ["report_id"], unique=False)

    op.create_table(
        "tip_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("lookup", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_tip_access_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip_access")),
        sa.UniqueConstraint("lookup", name=op.f("uq_tip_access_lookup")),
        sa.UniqueConstraint("report_id", name=op.f("uq_tip_access_report_id")),
    )
    op.create_table(
        "tip_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("from_tipster", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_tip_messages_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_tip_messages_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip_messages")),
    )
    with op.batch_alter_table("tip_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tip_messages_report_id"), ["report_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tip_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_messages_report_id"))

    op.drop_table("tip_messages")
    op.drop_table("tip_access")
    with op.batch_alter_table("report_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_people_report_id"))
        batch_op.drop_index(batch_op.f("ix_report_people_person_id"))

    op.drop_table("report_people")
    with op.batch_alter_table("report_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_attachments_report_id"))

    op.drop_table("report_attachments")
    with op.batch_alter_table("report_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_actions_report_id"))

    op.drop_table("report_actions")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_school_id"))
        batch_op.drop_index(batch_op.f("ix_reports_received_at"))
        batch_op.drop_index(batch_op.f("ix_reports_case_id"))

    op.drop_table("reports")
