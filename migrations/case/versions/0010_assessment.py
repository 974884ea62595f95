"""assessment

Revision ID: 0010_assessment
Revises: 0009_person_mentions
Create Date: 2026-12-01

Facts (with their versions), answers to the model's questions and the facts they cite,
determinations with their participants and facts, and the notices they make due. Each case
keeps the assessment model it follows (cases opened before this one follow the default's
first version), and the district says which model new cases follow. Narratives arrive as
``_enc`` columns only.

Columns are added to existing tables with plain ALTER TABLE: SQLite's batch mode would copy
and drop ``cases``, and the drop would cascade to every table that refers to it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0010_assessment"
down_revision = "0009_person_mentions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("question_key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=16), nullable=False),
        sa.Column("superseded_by_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_answers_author_id_users")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_answers_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"], ["answers.id"], name=op.f("fk_answers_superseded_by_id_answers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
    )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answers_case_id"), ["case_id"], unique=False)

    op.create_table(
        "determinations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=40), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("classification", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column(
            "offence",
            sa.Enum(
                "assault_weapon_or_injury",
                "sexual_offence",
                "kidnapping",
                "child_abuse",
                name="offence",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "disputed",
                "superseded",
                name="determinationstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rationale_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_determinations_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_determinations_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_determinations")),
        sa.UniqueConstraint("case_id", "version", name="uq_determinations_version"),
    )
    with op.batch_alter_table("determinations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_determinations_case_id"), ["case_id"], unique=False)

    op.create_table(
        "answer_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("fact_series_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["answers.id"], name=op.f("fk_answer_facts_answer_id_answers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_facts")),
        sa.UniqueConstraint("answer_id", "fact_series_id", name="uq_answer_facts"),
    )
    with op.batch_alter_table("answer_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_facts_answer_id"), ["answer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_answer_facts_fact_series_id"), ["fact_series_id"], unique=False
        )

    op.create_table(
        "determination_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("determination_id", sa.Integer(), nullable=False),
        sa.Column("fact_series_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["determination_id"],
            ["determinations.id"],
            name=op.f("fk_determination_facts_determination_id_determinations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_determination_facts")),
        sa.UniqueConstraint("determination_id", "fact_series_id", name="uq_determination_facts"),
    )
    with op.batch_alter_table("determination_facts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_determination_facts_determination_id"),
            ["determination_id"],
            unique=False,
        )

    op.create_table(
        "determination_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("determination_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("discipline", sa.String(length=32), nullable=False),
        sa.Column("knows_subject", sa.Boolean(), nullable=False),
        sa.Column(
            "response",
            sa.Enum(
                "pending", "confirmed", "objected", name="response", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("responded_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("objection_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_determination_participants_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["determination_id"],
            ["determinations.id"],
            name=op.f("fk_determination_participants_determination_id_determinations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_determination_participants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_determination_participants")),
        sa.UniqueConstraint("determination_id", "user_id", name="uq_determination_participants"),
    )
    with op.batch_alter_table("determination_participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_determination_participants_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_determination_participants_determination_id"),
            ["determination_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_determination_participants_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("superseded_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "interview_subject",
                "interview_target",
                "interview_witness",
                "interview_parent",
                "interview_teacher",
                "record_review",
                "observation",
                "social_media",
                "weapons_access",
                "other",
                name="factsource",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("learned_on", sa.Date(), nullable=False),
        sa.Column("gathered_by", sa.Integer(), nullable=True),
        sa.Column("interviewee_party_id", sa.Integer(), nullable=True),
        sa.Column("corroborated", sa.Boolean(), nullable=False),
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
            "offence",
            sa.Enum(
                "assault_weapon_or_injury",
                "sexual_offence",
                "kidnapping",
                "child_abuse",
                name="offence",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("statement_enc", sa.LargeBinary(), nullable=True),
        sa.Column("corroboration_enc", sa.LargeBinary(), nullable=True),
        sa.Column("team_summary_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_facts_author_id_users")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_facts_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["gathered_by"], ["users.id"], name=op.f("fk_facts_gathered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["interviewee_party_id"],
            ["case_parties.id"],
            name=op.f("fk_facts_interviewee_party_id_case_parties"),
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"], ["facts.id"], name=op.f("fk_facts_superseded_by_id_facts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facts")),
    )
    with op.batch_alter_table("facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_facts_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_facts_series_id"), ["series_id"], unique=False)

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "superintendent",
                "parent",
                "law_enforcement",
                "child_protective_services",
                name="noticekind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("determination_id", sa.Integer(), nullable=True),
        sa.Column(
            "offence",
            sa.Enum(
                "assault_weapon_or_injury",
                "sexual_offence",
                "kidnapping",
                "child_abuse",
                name="offence",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("given_at", btam.db.UTCDateTime(timezone=True), nullable=False),
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
        sa.Column("reached", sa.Boolean(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recipient_enc", sa.LargeBinary(), nullable=True),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_notices_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["determination_id"],
            ["determinations.id"],
            name=op.f("fk_notices_determination_id_determinations"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_notices_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_case_id"), ["case_id"], unique=False)

    op.add_column("attachments", sa.Column("fact_series_id", sa.Integer(), nullable=True))
    op.create_index(
        op.f("ix_attachments_fact_series_id"), "attachments", ["fact_series_id"], unique=False
    )
    op.add_column("cases", sa.Column("assessment_model", sa.String(length=40), nullable=True))
    op.add_column("cases", sa.Column("assessment_model_version", sa.Integer(), nullable=True))
    op.add_column("districts", sa.Column("assessment_model", sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE cases SET assessment_model = 'default', assessment_model_version = 1 "
        "WHERE assessment_model IS NULL"
    )


def downgrade() -> None:
    op.drop_column("districts", "assessment_model")
    op.drop_column("cases", "assessment_model_version")
    op.drop_column("cases", "assessment_model")
    op.drop_index(op.f("ix_attachments_fact_series_id"), table_name="attachments")
    op.drop_column("attachments", "fact_series_id")

    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_case_id"))

    op.drop_table("notices")
    with op.batch_alter_table("facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_facts_series_id"))
        batch_op.drop_index(batch_op.f("ix_facts_case_id"))

    op.drop_table("facts")
    with op.batch_alter_table("determination_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_determination_participants_user_id"))
        batch_op.drop_index(batch_op.f("ix_determination_participants_determination_id"))
        batch_op.drop_index(batch_op.f("ix_determination_participants_case_id"))

    op.drop_table("determination_participants")
    with op.batch_alter_table("determination_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_determination_facts_determination_id"))

    op.drop_table("determination_facts")
    with op.batch_alter_table("answer_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_facts_fact_series_id"))
        batch_op.drop_index(batch_op.f("ix_answer_facts_answer_id"))

    op.drop_table("answer_facts")
    with op.batch_alter_table("determinations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_determinations_case_id"))

    op.drop_table("determinations")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answers_case_id"))

    op.drop_table("answers")
