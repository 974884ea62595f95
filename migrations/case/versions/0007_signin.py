"""sign-in counters, one-time step tokens, re-authentication on the session

Revision ID: 0007_signin
Revises: 0006_applied_changes
Create Date: 2026-12-08

``signin_counters`` counts sign-in attempts per account name and per client address, one row
per key changed by single statements, so that parallel attempts are each counted before their
password is checked; the per-attempt rows that ``signin_failures`` held for sign-in are
dropped (the table stays for the tip line's rate limits). ``signin_step_tokens`` holds the
digests of one-time tokens that let a sign-in take its last step after enrolment.
``user_sessions.reauthenticated_at`` is when the session last proved its user's password.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0007_signin"
down_revision = "0006_applied_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_counters",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_start", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("admitted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key_hash", name=op.f("pk_signin_counters")),
    )
    op.create_table(
        "signin_step_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_signin_step_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_step_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signin_step_tokens_token_hash")),
    )
    with op.batch_alter_table("signin_step_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signin_step_tokens_user_id"), ["user_id"], unique=False
        )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reauthenticated_at", btam.db.UTCDateTime(timezone=True), nullable=True)
        )
    # Sign-in failures are counted in signin_counters from now on.
    op.execute("DELETE FROM signin_failures WHERE scope IN ('account', 'address')")


def downgrade() -> None:
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_column("reauthenticated_at")
    with op.batch_alter_table("signin_step_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_step_tokens_user_id"))
    op.drop_table("signin_step_tokens")
    op.drop_table("signin_counters")
