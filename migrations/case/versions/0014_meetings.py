"""meetings

Revision ID: 0014_meetings
Revises: 0011_district_time_zone
Create Date: 2026-12-01

A team's meetings: the agenda stored when its lead builds it, attendance with disciplines,
guests and confidentiality acknowledgements, minutes per item (``_enc`` only) and the link
from each decision carried into a case back to its meeting.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0014_meetings"
down_revision = "0013_referrals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("regular", "urgent", name="meetingkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("starts_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("scheduled_by", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("agenda_built_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["scheduled_by"], ["users.id"], name=op.f("fk_meetings_scheduled_by_users")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_meetings_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meetings_starts_at"), ["starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_meetings_team_id"), ["team_id"], unique=False)

    op.create_table(
        "meeting_attendees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("guest", sa.Boolean(), nullable=False),
        sa.Column("discipline", sa.String(length=32), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("added_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("guest_name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("guest_affiliation_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["users.id"],
            name=op.f("fk_meeting_attendees_acknowledged_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["added_by"], ["users.id"], name=op.f("fk_meeting_attendees_added_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_attendees_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_meeting_attendees_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendees")),
        sa.UniqueConstraint("meeting_id", "user_id", name="uq_meeting_attendees"),
    )
    with op.batch_alter_table("meeting_attendees", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_attendees_meeting_id"), ["meeting_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_meeting_attendees_user_id"), ["user_id"], unique=False)

    op.create_table(
        "agenda_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "triage",
                "assessment",
                "confirmation",
                "review_due",
                "plan_overdue",
                "referral_follow_up",
                "notification",
                "case",
                "topic",
                name="itemkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("due_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("topic_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by"], ["users.id"], name=op.f("fk_agenda_items_added_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_agenda_items_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_agenda_items_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_agenda_items_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_items")),
    )
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_items_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_agenda_items_meeting_id"), ["meeting_id"], unique=False
        )

    op.create_table(
        "meeting_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "determination",
                "level_change",
                "closure",
                "plan_item",
                "referral",
                "review",
                name="decisionkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("determination_id", sa.Integer(), nullable=True),
        sa.Column("status_change_id", sa.Integer(), nullable=True),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=False),
        sa.Column("decided_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_meeting_decisions_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_meeting_decisions_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["determination_id"],
            ["determinations.id"],
            name=op.f("fk_meeting_decisions_determination_id_determinations"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["agenda_items.id"], name=op.f("fk_meeting_decisions_item_id_agenda_items")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_decisions_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["status_change_id"],
            ["case_status_changes.id"],
            name=op.f("fk_meeting_decisions_status_change_id_case_status_changes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_decisions")),
    )
    with op.batch_alter_table("meeting_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_decisions_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_meeting_decisions_meeting_id"), ["meeting_id"], unique=False
        )

    op.create_table(
        "meeting_minutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
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
        sa.Column("created_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_meeting_minutes_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_meeting_minutes_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["agenda_items.id"], name=op.f("fk_meeting_minutes_item_id_agenda_items")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_minutes_meeting_id_meetings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_minutes")),
    )
    with op.batch_alter_table("meeting_minutes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_minutes_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_minutes_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_meeting_minutes_meeting_id"), ["meeting_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("meeting_minutes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_minutes_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_minutes_item_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_minutes_case_id"))

    op.drop_table("meeting_minutes")
    with op.batch_alter_table("meeting_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_decisions_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_decisions_case_id"))

    op.drop_table("meeting_decisions")
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_items_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_agenda_items_case_id"))

    op.drop_table("agenda_items")
    with op.batch_alter_table("meeting_attendees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_attendees_user_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_attendees_meeting_id"))

    op.drop_table("meeting_attendees")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meetings_team_id"))
        batch_op.drop_index(batch_op.f("ix_meetings_starts_at"))

    op.drop_table("meetings")
