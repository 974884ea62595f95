"""Alembic environment of the case store; btam/schema.py passes the engine in."""

from btam.schema import run_migrations

run_migrations()
