"""audit trail: hash-chained entries, signed checkpoints, append-only in the store itself

Revision ID: 0001_audit
Revises:
Create Date: 2026-11-23

UPDATE, DELETE (and on PostgreSQL TRUNCATE) are refused by triggers on both tables, so not
even the owner changes history by accident or by a bug; on PostgreSQL the triggers are
ENABLE ALWAYS, so ``SET session_replication_role = replica`` does not silence them, and
PUBLIC loses those privileges. ``btam.audit.verify.postgres_role_sql`` sets up the roles.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import btam.db

revision = "0001_audit"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("audit_entries", "audit_checkpoints")
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=120), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("client_address", sa.String(length=45), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
    )
    for column in ("at", "actor_id", "case_id", "school_id"):
        op.create_index(op.f(f"ix_audit_entries_{column}"), "audit_entries", [column])

    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", SEQ, nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", btam.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_checkpoints_seq")),
    )

    if op.get_bind().dialect.name == "postgresql":
        _postgresql_guards()
    else:
        _sqlite_guards()


def _sqlite_guards() -> None:
    # SQLite has no TRUNCATE; an unqualified DELETE runs row by row (and so fires these) as
    # soon as a table has a trigger.
    for table in TABLES:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: "
                f"{event} on {table} is refused'); END"
            )


def _postgresql_guards() -> None:
    op.execute(
        """
        CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit trail is append-only: % on % is refused',
                TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    for table in TABLES:
        # Statement-level, so even an UPDATE or DELETE matching no row is refused, and
        # TRUNCATE (which fires no row triggers) is covered too.
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )
        # ALWAYS: replication-role "replica" sessions (pg_restore, logical replication, or a
        # superuser's SET session_replication_role) would otherwise skip the trigger.
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only")
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse_change()")
    else:
        for table in TABLES:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    op.drop_table("audit_checkpoints")
    for column in ("school_id", "case_id", "actor_id", "at"):
        op.drop_index(op.f(f"ix_audit_entries_{column}"), table_name="audit_entries")
    op.drop_table("audit_entries")
