"""Throwaway PostgreSQL databases for tests, on the server named by BTAM_TEST_POSTGRES_URL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url


def admin_url() -> str:
    """The maintenance URL of the test server; skip, or fail under CI, when there is none."""
    url = os.environ.get("BTAM_TEST_POSTGRES_URL", "")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but BTAM_TEST_POSTGRES_URL is not set: PostgreSQL is required")
        pytest.skip("no PostgreSQL server (set BTAM_TEST_POSTGRES_URL)")
    return url


def _connect_admin(url: str) -> psycopg.Connection:
    parsed = make_url(url).set(drivername="postgresql")
    return psycopg.connect(parsed.render_as_string(hide_password=False), autocommit=True)


@contextmanager
def fresh_database(prefix: str = "btam_test") -> Iterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it afterwards."""
    base = admin_url()
    name = f"{prefix}_{secrets.token_hex(6)}"
    with _connect_admin(base) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield (
            make_url(base)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with _connect_admin(base) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
