"""Alembic environment shared by both stores; btam/schema.py passes the engine and the store."""

from __future__ import annotations

from alembic import context

from btam.models import metadata_for

config = context.config
store = config.attributes["store"]
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata_for(store),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
