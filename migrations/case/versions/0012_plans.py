"""plans

Revision ID: 0012_plans
Revises: 0011_district_time_zone
Create Date: 2026-12-01

Management plans: plan items with their progress notes, the counselors' intervention log,
reviews and the next review date of each case, the district's non-school days and review
cadence, and a student's IEP / 504 status (encrypted) on the person.

Today's work assignments become plan items of the kind "other", owned by their assignee,
done if they were done. Their text stays in the assignment's row: a ciphertext is bound to
its table, column and row, and migrations run without the key file, so the plan item names
the assignment it came from and reads the text there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0012_plans"
down_revision = "0011_district_time_zone"
branch_labels = None
depends_on = None


def _vocabulary(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


INTERVENTIONS = (
    "supervision",
    "schedule_change",
    "search_protocol",
    "no_contact",
    "parent_conference",
    "school_counseling",
    "mental_health_referral",
    "suicide_screening",
    "target_safety_plan",
    "law_enforcement_referral",
    "discipline_referral",
    "special_education_review",
    "alternative_placement",
    "reentry_meeting",
    "mentoring",
    "other",
)


def upgrade() -> None:
    op.create_table(
        "plan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("intervention", _vocabulary("intervention", *INTERVENTIONS), nullable=False),
        sa.Column("aim", _vocabulary("aim", "subject", "target", "environment"), nullable=False),
        sa.Column("target_party_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            _vocabulary("itemstatus", "planned", "in_progress", "done", "missed", "discontinued"),
            nullable=False,
        ),
        sa.Column("created_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("finished_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("description_enc", sa.LargeBinary(), nullable=True),
        sa.Column("status_reason_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_plan_items_assignment_id_assignments"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_plan_items_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_plan_items_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_plan_items_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["target_party_id"],
            ["case_parties.id"],
            name=op.f("fk_plan_items_target_party_id_case_parties"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_items")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_plan_items_assignment_id")),
    )
    op.create_index(op.f("ix_plan_items_case_id"), "plan_items", ["case_id"], unique=False)
    op.create_index(op.f("ix_plan_items_owner_id"), "plan_items", ["owner_id"], unique=False)

    op.create_table(
        "plan_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_plan_progress_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_plan_progress_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["plan_items.id"], name=op.f("fk_plan_progress_item_id_plan_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_progress")),
    )
    op.create_index(op.f("ix_plan_progress_case_id"), "plan_progress", ["case_id"], unique=False)
    op.create_index(op.f("ix_plan_progress_item_id"), "plan_progress", ["item_id"], unique=False)

    op.create_table(
        "intervention_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            _vocabulary("logkind", "individual", "group", "check_in", "parent_contact", "crisis"),
            nullable=False,
        ),
        sa.Column("created_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("private_notes_enc", sa.LargeBinary(), nullable=True),
        sa.Column("team_summary_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_intervention_log_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_intervention_log_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["plan_items.id"], name=op.f("fk_intervention_log_item_id_plan_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention_log")),
    )
    for column in ("author_id", "case_id", "item_id"):
        op.create_index(
            op.f(f"ix_intervention_log_{column}"), "intervention_log", [column], unique=False
        )

    op.create_table(
        "case_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_on", sa.Date(), nullable=True),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("changes_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_reviews_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_case_reviews_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reviews")),
    )
    op.create_index(op.f("ix_case_reviews_case_id"), "case_reviews", ["case_id"], unique=False)

    op.create_table(
        "review_schedules",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("set_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_review_schedules_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_review_schedules")),
    )

    op.create_table(
        "non_school_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["districts.id"], name=op.f("fk_non_school_days_district_id_districts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_non_school_days")),
        sa.UniqueConstraint("district_id", "day", name="uq_non_school_days"),
    )

    # Plain ALTER TABLE: SQLite's batch mode would copy and drop the tables others refer to.
    for column, days in (("imminent", 1), ("high", 7), ("moderate", 14), ("low", 30)):
        op.add_column(
            "districts",
            sa.Column(
                f"review_days_{column}", sa.Integer(), nullable=False, server_default=str(days)
            ),
        )
    op.add_column("people", sa.Column("support_plan_enc", sa.LargeBinary(), nullable=True))

    op.execute(
        "INSERT INTO plan_items (case_id, intervention, aim, owner_id, due_on, status, "
        "created_at, created_by, finished_at, assignment_id) "
        "SELECT case_id, 'other', 'subject', user_id, due_on, "
        "CASE WHEN done_at IS NULL THEN 'planned' ELSE 'done' END, "
        "created_at, created_by, done_at, id FROM assignments ORDER BY id"
    )


def downgrade() -> None:
    # Carried-over items go back to being assignments (their rows never left); the rest of
    # the plan has no place before this revision.
    op.execute(
        "UPDATE assignments SET done_at = (SELECT COALESCE(p.finished_at, "
        "CASE WHEN p.status IN ('done', 'discontinued') THEN p.created_at END) "
        "FROM plan_items p WHERE p.assignment_id = assignments.id) "
        "WHERE id IN (SELECT assignment_id FROM plan_items WHERE assignment_id IS NOT NULL)"
    )
    op.drop_column("people", "support_plan_enc")
    for column in ("low", "moderate", "high", "imminent"):
        op.drop_column("districts", f"review_days_{column}")
    op.drop_table("non_school_days")
    op.drop_table("review_schedules")
    op.drop_index(op.f("ix_case_reviews_case_id"), table_name="case_reviews")
    op.drop_table("case_reviews")
    for column in ("item_id", "case_id", "author_id"):
        op.drop_index(op.f(f"ix_intervention_log_{column}"), table_name="intervention_log")
    op.drop_table("intervention_log")
    op.drop_index(op.f("ix_plan_progress_item_id"), table_name="plan_progress")
    op.drop_index(op.f("ix_plan_progress_case_id"), table_name="plan_progress")
    op.drop_table("plan_progress")
    op.drop_index(op.f("ix_plan_items_owner_id"), table_name="plan_items")
    op.drop_index(op.f("ix_plan_items_case_id"), table_name="plan_items")
    op.drop_table("plan_items")
