"""The audit store refuses changes by itself: triggers, grants, and the migration behind them."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from btam.audit.actions import AuditAction, Outcome
from btam.audit.context import AuditContext
from btam.audit.verify import postgres_role_sql, verify_chain
from btam.audit.writer import AuditWriter
from btam.db import make_engine
from btam.models import metadata_for
from btam.schema import current_revision, downgrade, head_revision, upgrade
from tests.support.postgres import admin_url, fresh_database

CHANGES = [
    "UPDATE audit_entries SET actor_id = 2",
    "UPDATE audit_entries SET actor_id = 2 WHERE seq = 1",
    "DELETE FROM audit_entries WHERE seq = 1",
    "DELETE FROM audit_entries",
    "UPDATE audit_checkpoints SET seq = 2",
    "DELETE FROM audit_checkpoints",
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}", immediate=True)
        yield eng
        eng.dispose()
    else:
        with fresh_database("btam_audit_test") as url:
            eng = make_engine(url, immediate=True)
            yield eng
            eng.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    with fresh_database("btam_audit_test") as url:
        eng = make_engine(url, immediate=True)
        upgrade(eng, "audit")
        yield eng
        eng.dispose()


def sealed_entry(engine: Engine, key: Ed25519PrivateKey | None = None) -> AuditWriter:
    """Append one entry and seal it, so both tables have a row to protect."""
    writer = AuditWriter(
        sessionmaker(engine),
        signing_key=key or Ed25519PrivateKey.generate(),
        checkpoint_every=1,
        witness=None,
    )
    writer.append(
        AuditContext.system(), action=AuditAction.SYSTEM_STORE_INITIALISED, outcome=Outcome.ALLOWED
    )
    return writer


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(text("SELECT count(*) FROM audit_entries")).scalar_one(),
            conn.execute(text("SELECT count(*) FROM audit_checkpoints")).scalar_one(),
        )


# --- migration --------------------------------------------------------------------------


def test_migration_head_is_the_audit_trail_and_matches_the_models(engine: Engine) -> None:
    assert head_revision("audit") == "0002_audit_probe"
    upgrade(engine, "audit")
    assert current_revision(engine) == "0002_audit_probe"
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata_for("audit")) == []


def test_migration_goes_down_and_up_again(engine: Engine) -> None:
    upgrade(engine, "audit")
    sealed_entry(engine)
    downgrade(engine, "audit", "base")
    assert not {"audit_entries", "audit_checkpoints"} & set(inspect(engine).get_table_names())
    upgrade(engine, "audit")
    key = Ed25519PrivateKey.generate()
    sealed_entry(engine, key)
    assert counts(engine) == (1, 1)
    assert verify_chain(sessionmaker(engine), public_key=key.public_key(), witness=None).ok


# --- triggers ---------------------------------------------------------------------------


@pytest.mark.parametrize("statement", CHANGES)
def test_the_store_refuses_updates_and_deletes(engine: Engine, statement: str) -> None:
    upgrade(engine, "audit")
    sealed_entry(engine)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert counts(engine) == (1, 1)


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["audit_entries", "audit_checkpoints"])
@pytest.mark.parametrize("replica", [False, True], ids=["origin", "replica"])
def test_postgres_refuses_truncate_and_replica_role_cannot_silence_it(
    pg_engine: Engine, table: str, replica: bool
) -> None:
    sealed_entry(pg_engine)
    statements = [
        f"TRUNCATE {table} CASCADE",
        f"DELETE FROM {table}",  # noqa: S608  (table comes from the parametrize list)
        f"UPDATE {table} SET seq = 7",  # noqa: S608  (idem)
    ]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), pg_engine.begin() as conn:
            if replica:
                # The superuser's switch that skips ordinary triggers (pg_restore, replication).
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(statement))
    assert counts(pg_engine) == (1, 1)


@pytest.mark.postgres
def test_postgres_triggers_fire_always_and_public_has_no_change_rights(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:
        modes = dict(
            conn.execute(
                text("SELECT tgname, tgenabled FROM pg_trigger WHERE tgname LIKE '%append_only'")
            ).all()
        )
        assert modes == {"audit_entries_append_only": "A", "audit_checkpoints_append_only": "A"}
        public_rights = (
            conn.execute(
                text(
                    "SELECT privilege_type FROM information_schema.role_table_grants "
                    "WHERE grantee = 'PUBLIC' AND table_name LIKE 'audit_%'"
                )
            )
            .scalars()
            .all()
        )
        assert not {"UPDATE", "DELETE", "TRUNCATE"} & set(public_rights)


# --- roles ------------------------------------------------------------------------------


def _psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.postgres
def test_app_role_from_the_role_sql_may_only_insert_and_select() -> None:
    suffix = secrets.token_hex(4)
    owner, app = f"audit_owner_{suffix}", f"audit_app_{suffix}"
    try:
        with fresh_database("btam_audit_test") as url:
            database = make_url(url).database
            assert database is not None
            script = postgres_role_sql(owner, app, database)
            with psycopg.connect(_psycopg_url(url), autocommit=True) as conn:
                conn.execute(script)  # type: ignore[call-overload]
                conn.execute(script)  # type: ignore[call-overload]  # running it again is safe

            owner_engine = make_engine(make_url(url).set(username=owner).render_as_string(False))
            upgrade(owner_engine, "audit")
            app_engine = make_engine(
                make_url(url).set(username=app).render_as_string(False), immediate=True
            )
            try:
                key = Ed25519PrivateKey.generate()
                writer = sealed_entry(app_engine, key)
                writer.append(
                    AuditContext.system(),
                    action=AuditAction.SYSTEM_DEMO_LOADED,
                    outcome=Outcome.ALLOWED,
                )
                assert verify_chain(
                    sessionmaker(app_engine),
                    public_key=key.public_key(),
                    witness=None,
                ).ok
                for statement in [
                    *CHANGES,
                    "TRUNCATE audit_entries",
                    "DROP TRIGGER audit_entries_append_only ON audit_entries",
                    "ALTER TABLE audit_entries DISABLE TRIGGER ALL",
                    "CREATE TABLE shadow (id integer)",
                ]:
                    with pytest.raises(DBAPIError) as info, app_engine.begin() as conn:
                        conn.execute(text(statement))
                    assert "permission denied" in str(info.value) or "must be owner" in str(
                        info.value
                    ), statement
                # The owner may run migrations but is still stopped by the triggers.
                with pytest.raises(DBAPIError, match="append-only"), owner_engine.begin() as conn:
                    conn.execute(text("DELETE FROM audit_entries"))
                assert counts(app_engine) == (2, 2)
            finally:
                app_engine.dispose()
                owner_engine.dispose()
    finally:
        with psycopg.connect(_psycopg_url(admin_url()), autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{app}"')  # type: ignore[call-overload]
            conn.execute(f'DROP ROLE IF EXISTS "{owner}"')  # type: ignore[call-overload]
