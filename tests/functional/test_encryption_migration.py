"""Migration 0002: plaintext MFA secrets give way to ``_enc`` columns, keeping everything else.

On SQLite and PostgreSQL (skipped without a server, a failure under CI=true), up and down,
with a district's worth of rows in the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from btam import schema
from btam.db import make_engine
from tests.support.postgres import fresh_database

PLAINTEXT = "JBSWY3DPEHPK3PXPMARKERPLAINTEXT"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = make_engine(f"sqlite:///{tmp_path}/case.sqlite3")
        yield made
        made.dispose()
        return
    with fresh_database("btam_enc_mig") as url:
        made = make_engine(url)
        yield made
        made.dispose()


def run(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    with engine.begin() as conn:
        result = conn.execute(text(sql), params)
        return [tuple(row) for row in result] if result.returns_rows else []


def seed_0001(engine: Engine) -> None:
    """Two users at revision 0001: Ben enrolled (plaintext secret), Cam never enrolled."""
    now = "2026-01-05 10:00:00"
    run(engine, "INSERT INTO districts (id, name, created_at) VALUES (1, 'D', :t)", t=now)
    run(
        engine,
        "INSERT INTO schools (id, district_id, name, code, is_active) "
        "VALUES (1, 1, 'North', 'NHS', true)",
    )
    run(engine, "INSERT INTO teams (id, district_id, name, is_active) VALUES (1, 1, 'T', true)")
    for user_id, name, secret, enrolled in ((1, "ben", PLAINTEXT, now), (2, "cam", None, None)):
        run(
            engine,
            "INSERT INTO users (id, username, display_name, role, district_wide, is_active, "
            "password_hash, must_change_password, password_changed_at, mfa_secret, "
            "mfa_pending_secret, mfa_enrolled_at, mfa_last_step, created_at) VALUES "
            "(:i, :n, :n, 'team_lead', false, true, 'h', false, :t, :s, :s, :e, :step, :t)",
            i=user_id,
            n=name,
            t=now,
            s=secret,
            e=enrolled,
            step=99 if enrolled else 0,
        )
        run(engine, "INSERT INTO team_members (team_id, user_id) VALUES (1, :i)", i=user_id)
        run(engine, "INSERT INTO user_schools (user_id, school_id) VALUES (:i, 1)", i=user_id)
        run(
            engine,
            "INSERT INTO user_sessions (user_id, token_hash, created_at, last_seen_at) "
            "VALUES (:i, :h, :t, :t)",
            i=user_id,
            h=f"{user_id:064d}",
            t=now,
        )
        run(
            engine,
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES (:i, :h)",
            i=user_id,
            h=f"{user_id:064x}",
        )


def columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("users")}


def counts(engine: Engine) -> dict[str, int]:
    tables = ("users", "team_members", "user_schools", "user_sessions", "recovery_codes")
    return {
        t: int(run(engine, f"SELECT count(*) FROM {t}")[0][0])  # noqa: S608  (fixed names)
        for t in tables
    }


def test_upgrade_replaces_the_plaintext_columns_and_keeps_every_other_row(
    engine: Engine,
) -> None:
    schema.upgrade(engine, "case", "0001_case")
    seed_0001(engine)
    schema.upgrade(engine, "case", "0002_field_encryption")
    assert schema.current_revision(engine) == "0002_field_encryption"
    assert {"mfa_secret_enc", "mfa_pending_secret_enc"} <= columns(engine)
    assert not {"mfa_secret", "mfa_pending_secret"} & columns(engine)
    assert "data_keys" in inspect(engine).get_table_names()
    # Nothing cascaded away: only the lost secret's recovery code went with it.
    assert counts(engine) == {
        "users": 2,
        "team_members": 2,
        "user_schools": 2,
        "user_sessions": 2,
        "recovery_codes": 1,
    }
    rows = run(engine, "SELECT username, mfa_enrolled_at, mfa_last_step FROM users ORDER BY id")
    assert rows == [("ben", None, 0), ("cam", None, 0)]  # Ben enrols again at next sign-in


def test_upgrade_leaves_no_plaintext_secret_in_a_sqlite_file(tmp_path: Path) -> None:
    """SQLite only: PostgreSQL keeps dropped values in dead tuples until VACUUM FULL."""
    engine = make_engine(f"sqlite:///{tmp_path}/old.sqlite3")
    try:
        schema.upgrade(engine, "case", "0001_case")
        seed_0001(engine)
        run(engine, "PRAGMA wal_checkpoint(TRUNCATE)")
        assert PLAINTEXT.encode() in (tmp_path / "old.sqlite3").read_bytes()
        schema.upgrade(engine, "case")
        run(engine, "PRAGMA wal_checkpoint(TRUNCATE)")
        for path in tmp_path.glob("old.sqlite3*"):
            assert PLAINTEXT.encode() not in path.read_bytes(), path.name
    finally:
        engine.dispose()


def test_downgrade_restores_the_0001_columns_and_upgrade_works_again(engine: Engine) -> None:
    schema.upgrade(engine, "case", "0001_case")
    seed_0001(engine)
    schema.upgrade(engine, "case")
    run(engine, "UPDATE users SET mfa_secret_enc = :c, mfa_enrolled_at = created_at", c=b"\x01x")
    run(
        engine,
        "INSERT INTO data_keys (scope, current_for, kek_version, wrapped, created_at) "
        "VALUES ('accounts', 'accounts', 1, :w, '2026-01-05 10:00:00')",
        w=b"\x01" * 65,
    )
    schema.downgrade(engine, "case", "0001_case")
    assert {"mfa_secret", "mfa_pending_secret"} <= columns(engine)
    assert not {"mfa_secret_enc", "mfa_pending_secret_enc"} & columns(engine)
    assert "data_keys" not in inspect(engine).get_table_names()
    assert run(engine, "SELECT mfa_secret, mfa_enrolled_at FROM users") == [(None, None)] * 2
    assert counts(engine)["team_members"] == 2 and counts(engine)["recovery_codes"] == 0
    schema.upgrade(engine, "case")
    assert schema.current_revision(engine) == schema.head_revision("case")
