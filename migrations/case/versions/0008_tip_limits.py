"""the tip line's salted rate limits, proofs of work and flood alerts; the pruning timer

Revision ID: 0008_tip_limits
Revises: 0007_signin
Create Date: 2026-12-08

``rate_limit_salts`` holds each limit's current window and its random salt (a client is keyed
by HMAC(salt, address)), ``rate_limit_events`` the counted events, ``spent_proofs`` the proofs
of work already used, ``rate_limit_alerts`` a limit passed in its window (the tip line's
flood), and ``housekeeping`` when the pruning last ran. Every row but the last expires with
its window and is pruned.

The tip line's counts move out of ``signin_failures``, where they were kept under a keyed hash
of the address that anyone holding the secret key could reverse by brute force: they are
deleted, not carried over (the limits start afresh).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0008_tip_limits"
down_revision = "0007_signin"
branch_labels = None
depends_on = None

TIP_SCOPES = ("tip-client", "tip-all", "tipcode-client", "tipcode-lookup")


def upgrade() -> None:
    op.create_table(
        "rate_limit_salts",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("started_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_rate_limit_salts")),
    )
    op.create_index(
        op.f("ix_rate_limit_salts_expires_at"), "rate_limit_salts", ["expires_at"], unique=False
    )
    op.create_table(
        "rate_limit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_events")),
    )
    op.create_index(
        "ix_rate_limit_events_scope_key", "rate_limit_events", ["scope", "key_hash"], unique=False
    )
    op.create_index(
        op.f("ix_rate_limit_events_expires_at"), "rate_limit_events", ["expires_at"], unique=False
    )
    op.create_table(
        "spent_proofs",
        sa.Column("challenge_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("challenge_hash", name=op.f("pk_spent_proofs")),
    )
    op.create_index(
        op.f("ix_spent_proofs_expires_at"), "spent_proofs", ["expires_at"], unique=False
    )
    op.create_table(
        "rate_limit_alerts",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("raised_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_rate_limit_alerts")),
    )
    op.create_index(
        op.f("ix_rate_limit_alerts_expires_at"), "rate_limit_alerts", ["expires_at"], unique=False
    )
    op.create_table(
        "housekeeping",
        sa.Column("task", sa.String(length=32), nullable=False),
        sa.Column("last_run_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task", name=op.f("pk_housekeeping")),
    )
    signin_failures = sa.table("signin_failures", sa.column("scope", sa.String))
    op.execute(signin_failures.delete().where(signin_failures.c.scope.in_(TIP_SCOPES)))


def downgrade() -> None:
    op.drop_table("housekeeping")
    op.drop_index(op.f("ix_rate_limit_alerts_expires_at"), table_name="rate_limit_alerts")
    op.drop_table("rate_limit_alerts")
    op.drop_index(op.f("ix_spent_proofs_expires_at"), table_name="spent_proofs")
    op.drop_table("spent_proofs")
    op.drop_index(op.f("ix_rate_limit_events_expires_at"), table_name="rate_limit_events")
    op.drop_index("ix_rate_limit_events_scope_key", table_name="rate_limit_events")
    op.drop_table("rate_limit_events")
    op.drop_index(op.f("ix_rate_limit_salts_expires_at"), table_name="rate_limit_salts")
    op.drop_table("rate_limit_salts")
