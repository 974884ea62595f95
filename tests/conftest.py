"""Fixtures: an app on fresh stores (SQLite, or PostgreSQL with BTAM_TEST_STORES=postgresql),
personas created through the services, and a client that fills in real forms."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from flask import Flask

os.environ["BTAM_CONFIG"] = "testing"

from btam import create_app, schema
from btam.audit.signing import generate_signing_key_file
from btam.db import open_stores
from btam.security.crypto import generate_key_file
from tests.support.personas import World, build_world
from tests.support.postgres import fresh_database
from tests.support.web import Browser

TEST_SECRET = "test-secret-key-" + "x" * 40


def store_urls(tmp_path: Path, stack: ExitStack) -> tuple[str, str]:
    """URLs of two empty stores of the kind this run tests."""
    if os.environ.get("BTAM_TEST_STORES", "sqlite") == "postgresql":
        return (
            stack.enter_context(fresh_database("btam_case")),
            stack.enter_context(fresh_database("btam_audit")),
        )
    return f"sqlite:///{tmp_path}/btam.sqlite3", f"sqlite:///{tmp_path}/audit.sqlite3"


def prepare_instance(tmp_path: Path, case_url: str, audit_url: str) -> dict[str, object]:
    """Keys and migrated stores in ``tmp_path``, as ``btam init`` would leave them."""
    instance = tmp_path / "instance"
    instance.mkdir()
    generate_key_file(instance / "kek.key")
    generate_signing_key_file(instance / "audit-signing.key")
    stores = open_stores(case_url, audit_url)
    try:
        schema.upgrade(stores.case_engine, "case")
        schema.upgrade(stores.audit_engine, "audit")
    finally:
        stores.dispose()
    return {
        "instance": str(instance),
        "database_url": case_url,
        "audit_database_url": audit_url,
        "secret_key": TEST_SECRET,
        "signin_mfa_required": True,
    }


@pytest.fixture
def overrides(tmp_path: Path) -> Iterator[dict[str, object]]:
    with ExitStack() as stack:
        case_url, audit_url = store_urls(tmp_path, stack)
        yield prepare_instance(tmp_path, case_url, audit_url)


@pytest.fixture
def app(overrides: dict[str, object]) -> Iterator[Flask]:
    application = create_app(overrides)
    yield application
    application.extensions["btam"].stores.dispose()


@pytest.fixture
def world(app: Flask) -> World:
    """The personas of tests/support/personas.py, created through the services."""
    return build_world(app)


@pytest.fixture
def browser(app: Flask) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def other_browser(app: Flask) -> Browser:
    return Browser(app.test_client())
