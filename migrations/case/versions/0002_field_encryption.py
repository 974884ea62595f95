"""field encryption: wrapped data keys; MFA secrets stored encrypted

Revision ID: 0002_field_encryption
Revises: 0001_case
Create Date: 2026-11-23

The plaintext MFA secret columns are replaced by ``_enc`` columns. A migration has no KEK,
so it cannot encrypt the secrets already stored: they are dropped, and the users who had
one set up two-step sign-in again at their next sign-in (no production data exists yet).

SQLite: columns are added and dropped with ALTER TABLE (SQLite 3.35+), not batch mode's
copy-and-rename: with foreign keys on, dropping the old ``users`` table would cascade and
delete every user's sessions, recovery codes and team memberships. PostgreSQL keeps the
dropped values in dead tuples until ``VACUUM FULL users``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0002_field_encryption"
down_revision = "0001_case"
branch_labels = None
depends_on = None

# Whoever had a secret enrols again; their recovery codes belonged to the lost secret.
_FORGET_ENROLMENT = (
    "DELETE FROM recovery_codes WHERE user_id IN (SELECT id FROM users WHERE {had})",
    "UPDATE users SET mfa_enrolled_at = NULL, mfa_last_step = 0 WHERE {had}",
)


def _forget_enrolment(had: str) -> None:
    for statement in _FORGET_ENROLMENT:
        op.execute(statement.format(had=had))


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("current_for", sa.String(length=64), nullable=True),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("destroyed_at", btam.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "current_for IS NULL OR current_for = scope",
            name=op.f("ck_data_keys_current_is_own_scope"),
        ),
        sa.CheckConstraint(
            "(wrapped IS NULL AND destroyed_at IS NOT NULL) "
            "OR (wrapped IS NOT NULL AND destroyed_at IS NULL)",
            name=op.f("ck_data_keys_destroyed_has_no_key"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_keys")),
        sa.UniqueConstraint("current_for", name=op.f("uq_data_keys_current_for")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_data_keys_scope"), "data_keys", ["scope"], unique=False)

    _forget_enrolment(
        "mfa_secret IS NOT NULL OR mfa_pending_secret IS NOT NULL OR mfa_enrolled_at IS NOT NULL"
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # Overwrite freed space with zeros, so the plaintext secrets leave the file too.
        op.execute("PRAGMA secure_delete = ON")
    op.execute("UPDATE users SET mfa_secret = NULL, mfa_pending_secret = NULL")
    op.drop_column("users", "mfa_secret")
    op.drop_column("users", "mfa_pending_secret")
    if sqlite:
        op.execute("PRAGMA secure_delete = OFF")
    op.add_column("users", sa.Column("mfa_secret_enc", sa.LargeBinary(), nullable=True))
    op.add_column("users", sa.Column("mfa_pending_secret_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # The ciphertexts cannot be decrypted here either: enrolment starts over, as on upgrade.
    _forget_enrolment(
        "mfa_secret_enc IS NOT NULL OR mfa_pending_secret_enc IS NOT NULL "
        "OR mfa_enrolled_at IS NOT NULL"
    )
    op.drop_column("users", "mfa_pending_secret_enc")
    op.drop_column("users", "mfa_secret_enc")
    op.add_column("users", sa.Column("mfa_secret", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("mfa_pending_secret", sa.Text(), nullable=True))

    op.drop_index(op.f("ix_data_keys_scope"), table_name="data_keys")
    op.drop_table("data_keys")
