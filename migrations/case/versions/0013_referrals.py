"""referrals and notifications

Revision ID: 0013_referrals
Revises: 0011_district_time_zone
Create Date: 2026-12-01

Referrals with their consent or legal basis and the history of their steps, notifications
given, and a person's documented history of violence against staff or of carrying a weapon.
Agencies, contacts, reasons, consent texts, outcomes, recipients and summaries arrive as
``_enc`` columns only; a documented history's kind is encrypted too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0013_referrals"
down_revision = "0012_plans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documented_histories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind_enc", sa.LargeBinary(), nullable=True),
        sa.Column("documented_in_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_documented_histories_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_documented_histories_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_documented_histories_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documented_histories")),
    )
    with op.batch_alter_table("documented_histories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_documented_histories_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_documented_histories_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "audience",
            sa.Enum(
                "target",
                "target_parents",
                "staff",
                "other",
                name="audience",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("about_person_id", sa.Integer(), nullable=True),
        sa.Column("notified_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "in_person",
                "phone",
                "email",
                "letter",
                "other",
                name="method",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "record_class",
            sa.Enum(
                "education",
                "counseling",
                "law_enforcement",
                name="recordclass",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recipient_enc", sa.LargeBinary(), nullable=True),
        sa.Column("summary_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["about_person_id"], ["people.id"], name=op.f("fk_notifications_about_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_notifications_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_notifications_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_case_id"), ["case_id"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "destination",
            sa.Enum(
                "community_mental_health",
                "law_enforcement",
                "youth_court",
                "child_protective_services",
                "special_education_team",
                "community_services",
                "another_school",
                name="destination",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "record_class",
            sa.Enum(
                "education",
                "counseling",
                "law_enforcement",
                name="recordclass",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "consent",
            sa.Enum(
                "obtained", "not_needed", "refused", name="consent", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("consent_on", sa.Date(), nullable=True),
        sa.Column(
            "legal_basis",
            sa.Enum(
                "health_safety_emergency",
                "parent_consent",
                "subpoena_or_court_order",
                "transfer_to_school",
                "juvenile_justice",
                "child_protective_services",
                "other",
                name="disclosurebasis",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "drafted",
                "sent",
                "accepted",
                "declined",
                "service_started",
                "completed",
                "closed_without_service",
                name="referralstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("sent_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disclosure_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("agency_enc", sa.LargeBinary(), nullable=True),
        sa.Column("contact_enc", sa.LargeBinary(), nullable=True),
        sa.Column("reason_enc", sa.LargeBinary(), nullable=True),
        sa.Column("consent_records_enc", sa.LargeBinary(), nullable=True),
        sa.Column("consent_purpose_enc", sa.LargeBinary(), nullable=True),
        sa.Column("consent_recipient_enc", sa.LargeBinary(), nullable=True),
        sa.Column("basis_statement_enc", sa.LargeBinary(), nullable=True),
        sa.Column("outcome_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_referrals_author_id_users")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_referrals_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_referrals_disclosure_id_disclosures"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_referrals_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_person_id"), ["person_id"], unique=False)

    op.create_table(
        "referral_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "move",
            sa.Enum(
                "send",
                "accept",
                "decline",
                "start_service",
                "complete",
                "close_without_service",
                "follow_up",
                name="referralmove",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "from_status",
            sa.Enum(
                "drafted",
                "sent",
                "accepted",
                "declined",
                "service_started",
                "completed",
                "closed_without_service",
                name="referralstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "drafted",
                "sent",
                "accepted",
                "declined",
                "service_started",
                "completed",
                "closed_without_service",
                name="referralstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("taken_by", sa.Integer(), nullable=False),
        sa.Column("taken_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_referral_steps_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_referral_steps_referral_id_referrals")
        ),
        sa.ForeignKeyConstraint(
            ["taken_by"], ["users.id"], name=op.f("fk_referral_steps_taken_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_steps")),
    )
    with op.batch_alter_table("referral_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_steps_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_referral_steps_referral_id"), ["referral_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("referral_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_steps_referral_id"))
        batch_op.drop_index(batch_op.f("ix_referral_steps_case_id"))

    op.drop_table("referral_steps")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_person_id"))
        batch_op.drop_index(batch_op.f("ix_referrals_case_id"))

    op.drop_table("referrals")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_case_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("documented_histories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documented_histories_person_id"))
        batch_op.drop_index(batch_op.f("ix_documented_histories_case_id"))

    op.drop_table("documented_histories")
