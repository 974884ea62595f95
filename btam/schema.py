"""Create and upgrade both stores with their own Alembic histories under ``migrations/``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

Store = Literal["case", "audit"]
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(store: Store, engine: Engine | None = None) -> Config:
    """An Alembic configuration for one store, bound to ``engine`` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR / store))
    config.attributes["store"] = store
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, store: Store, revision: str = "head") -> None:
    """Bring a store up to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(store, engine), revision)


def downgrade(engine: Engine, store: Store, revision: str) -> None:
    """Take a store down to ``revision`` (``base`` empties it)."""
    command.downgrade(alembic_config(store, engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision a store is at, or None when it has never been migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(store: Store) -> str | None:
    """The newest revision of a store's history."""
    return ScriptDirectory.from_config(alembic_config(store)).get_current_head()


def run_migrations() -> None:
    """The body of both stores' ``env.py``: migrate the engine btam/schema.py passed in."""
    from alembic import context

    from btam.models import metadata_for

    config = context.config
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the old one, which the rows of
            # other tables refer to: foreign keys are off while it migrates (a pragma that
            # takes effect only outside a transaction, so on the driver's connection before
            # the first statement) and every reference is checked before the commit.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=metadata_for(config.attributes["store"]),
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _check_foreign_keys(connection)
            connection.commit()
        except BaseException:
            if sqlite:
                connection.invalidate()  # never back into the pool with its foreign keys off
            raise
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise RuntimeError(f"the migration left broken references in {', '.join(tables)}")
