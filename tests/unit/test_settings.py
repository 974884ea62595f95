"""Settings: strict parsing, and production's refusals to start."""

from __future__ import annotations

from pathlib import Path

import pytest

from btam.settings import ConfigError, load_settings

SECRET = "s" * 48


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    instance = tmp_path / "instance"
    instance.mkdir()
    kek = instance / "kek.key"
    signing = instance / "signing.key"
    kek.write_text("k")
    signing.write_text("k")
    return {
        "BTAM_CONFIG": "production",
        "BTAM_INSTANCE": str(instance),
        # Both stores are PostgreSQL: outside the instance folder is other storage enough.
        "BTAM_AUDIT_WITNESS": str(tmp_path / "witness" / "audit-witness.log"),
        "BTAM_SECRET_KEY": SECRET,
        "BTAM_KEY_FILE": str(kek),
        "BTAM_AUDIT_SIGNING_KEY_FILE": str(signing),
        "BTAM_DATABASE_URL": "postgresql://app@db.internal/btam",
        "BTAM_AUDIT_DATABASE_URL": "postgresql://audit@audit-db.internal/btam_audit",
        "BTAM_SERVER_NAME": "btam.example.org",
    }


def test_a_complete_production_environment_loads(production_env: dict[str, str]) -> None:
    settings = load_settings(production_env)
    assert settings.is_production
    assert settings.signin_mfa_required
    assert settings.session_secure_cookie and settings.http_force_https


@pytest.mark.parametrize(
    "missing",
    [
        "BTAM_SECRET_KEY",
        "BTAM_KEY_FILE",
        "BTAM_AUDIT_SIGNING_KEY_FILE",
        "BTAM_DATABASE_URL",
        "BTAM_AUDIT_DATABASE_URL",
        "BTAM_SERVER_NAME",
    ],
)
def test_production_refuses_to_start_without(production_env: dict[str, str], missing: str) -> None:
    del production_env[missing]
    with pytest.raises(ConfigError) as refused:
        load_settings(production_env)
    message = str(refused.value)
    assert missing in message
    assert "\n" not in message


def test_production_accepts_the_secret_key_from_a_file(
    production_env: dict[str, str], tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    del production_env["BTAM_SECRET_KEY"]
    production_env["BTAM_SECRET_KEY_FILE"] = str(secret_file)
    assert load_settings(production_env).secret_key == SECRET


@pytest.mark.parametrize(
    "audit_url",
    [
        "postgresql://app@db.internal/btam",
        "postgresql+psycopg://other_user:pw@DB.internal:5432/btam",
    ],
)
def test_production_refuses_one_database_for_both_stores(
    production_env: dict[str, str], audit_url: str
) -> None:
    production_env["BTAM_AUDIT_DATABASE_URL"] = audit_url
    with pytest.raises(ConfigError, match="separate databases"):
        load_settings(production_env)


def test_any_environment_refuses_one_sqlite_file_for_both_stores(tmp_path: Path) -> None:
    env = {
        "BTAM_CONFIG": "development",
        "BTAM_DATABASE_URL": f"sqlite:///{tmp_path}/one.sqlite3",
        "BTAM_AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/../{tmp_path.name}/one.sqlite3",
    }
    with pytest.raises(ConfigError, match="separate databases"):
        load_settings(env)


def test_production_refuses_a_witness_in_the_instance_folder(
    production_env: dict[str, str],
) -> None:
    del production_env["BTAM_AUDIT_WITNESS"]  # the default: instance/audit-witness.log
    with pytest.raises(ConfigError) as refused:
        load_settings(production_env)
    message = str(refused.value)
    assert "inside the instance folder" in message and "\n" not in message
    assert "BTAM_AUDIT_WITNESS_ALLOW_LOCAL" in message


@pytest.mark.parametrize("store", ["BTAM_DATABASE_URL", "BTAM_AUDIT_DATABASE_URL"])
def test_production_refuses_a_witness_on_the_disk_of_a_sqlite_store(
    production_env: dict[str, str], tmp_path: Path, store: str
) -> None:
    # The witness's folder does not exist yet: its nearest existing parent decides the disk.
    production_env[store] = f"sqlite:///{tmp_path}/stores/{store.lower()}.sqlite3"
    production_env["BTAM_SQLITE_SINGLE_HOST"] = "true"
    what = "case store" if store == "BTAM_DATABASE_URL" else "audit store"
    with pytest.raises(ConfigError, match=f"on the same disk as the {what}"):
        load_settings(production_env)


def test_production_keeps_a_local_witness_only_when_told_so(
    production_env: dict[str, str], tmp_path: Path
) -> None:
    production_env["BTAM_DATABASE_URL"] = f"sqlite:///{tmp_path}/btam.sqlite3"
    production_env["BTAM_SQLITE_SINGLE_HOST"] = "true"
    del production_env["BTAM_AUDIT_WITNESS"]
    production_env["BTAM_AUDIT_WITNESS_ALLOW_LOCAL"] = "true"
    settings = load_settings(production_env)
    assert settings.audit_witness == settings.instance / "audit-witness.log"


@pytest.mark.parametrize("store", ["BTAM_DATABASE_URL", "BTAM_AUDIT_DATABASE_URL"])
def test_production_refuses_a_sqlite_store_unless_one_host_is_confirmed(
    production_env: dict[str, str], tmp_path: Path, store: str
) -> None:
    """SQLite's locks hold between the workers of one host, not across hosts sharing a disk."""
    production_env[store] = f"sqlite:///{tmp_path}/{store.lower()}.sqlite3"
    production_env["BTAM_AUDIT_WITNESS_ALLOW_LOCAL"] = "true"
    with pytest.raises(ConfigError) as refused:
        load_settings(production_env)
    message = str(refused.value)
    assert "SQLite" in message and "BTAM_SQLITE_SINGLE_HOST" in message and "\n" not in message
    production_env["BTAM_SQLITE_SINGLE_HOST"] = "true"
    assert load_settings(production_env).sqlite_single_host


@pytest.mark.parametrize(
    "name", ["https://btam.example.org", "btam.example.org/app", "BTAM.example.org", "a b", ":443"]
)
def test_a_server_name_is_a_host_name_and_nothing_else(
    production_env: dict[str, str], name: str
) -> None:
    production_env["BTAM_SERVER_NAME"] = name
    with pytest.raises(ConfigError, match="BTAM_SERVER_NAME"):
        load_settings(production_env)
    production_env["BTAM_SERVER_NAME"] = "btam.example.org:8443"
    assert load_settings(production_env).server_name == "btam.example.org:8443"


def test_the_audit_settings_read_from_their_section(tmp_path: Path) -> None:
    settings = load_settings({"BTAM_CONFIG": "development", "BTAM_INSTANCE": str(tmp_path)})
    assert (settings.audit_checkpoint_every, settings.audit_checkpoint_minutes) == (1000, 5)
    assert settings.audit_public_keys_file == tmp_path / "audit-public-keys.pem"
    changed = load_settings(
        {
            "BTAM_CONFIG": "development",
            "BTAM_INSTANCE": str(tmp_path),
            "BTAM_AUDIT_CHECKPOINT_MINUTES": "2",
            "BTAM_AUDIT_PUBLIC_KEYS_FILE": str(tmp_path / "ring.pem"),
        }
    )
    assert changed.audit_checkpoint_minutes == 2
    assert changed.audit_public_keys_file == tmp_path / "ring.pem"


def test_production_refuses_a_key_file_that_does_not_exist(
    production_env: dict[str, str], tmp_path: Path
) -> None:
    production_env["BTAM_KEY_FILE"] = str(tmp_path / "nowhere.key")
    with pytest.raises(ConfigError, match="BTAM_KEY_FILE"):
        load_settings(production_env)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("BTAM_SIGNIN_MFA_REQUIRED", "false", "multi-factor"),
        ("BTAM_SESSION_SECURE_COOKIE", "false", "secure cookies"),
        ("BTAM_HTTP_FORCE_HTTPS", "no", "HTTPS"),
        ("BTAM_PASSWORDS_ARGON2_MEMORY_KIB", "1024", "OWASP"),
        ("BTAM_PASSWORDS_ARGON2_TIME_COST", "1", "OWASP"),
        ("BTAM_SECRET_KEY", "short", "shorter than 32"),
    ],
)
def test_production_refuses_weakened_settings(
    production_env: dict[str, str], variable: str, value: str, reason: str
) -> None:
    production_env[variable] = value
    with pytest.raises(ConfigError, match=reason):
        load_settings(production_env)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("BTAM_DATABSE_URL", "sqlite://", "unknown environment variable BTAM_DATABSE_URL"),
        ("BTAM_SESSION_IDLE_MINUTES", "fifteen", "whole number"),
        ("BTAM_SESSION_IDLE_MINUTES", "-3", "negative"),
        ("BTAM_SIGNIN_MFA_REQUIRED", "maybe", "true or false"),
        ("BTAM_CONFIG", "staging", "BTAM_CONFIG must be one of"),
    ],
)
def test_malformed_or_unknown_variables_are_refused(
    tmp_path: Path, variable: str, value: str, reason: str
) -> None:
    env = {"BTAM_INSTANCE": str(tmp_path), variable: value}
    with pytest.raises(ConfigError, match=reason):
        load_settings(env)


def test_development_relaxes_only_what_a_laptop_needs(tmp_path: Path) -> None:
    settings = load_settings({"BTAM_CONFIG": "development", "BTAM_INSTANCE": str(tmp_path)})
    assert not settings.session_secure_cookie
    assert settings.signin_mfa_required
    assert settings.passwords_argon2_memory_kib >= 19 * 1024
    assert settings.database_url == f"sqlite:///{tmp_path}/btam.sqlite3"
    assert settings.audit_database_url == f"sqlite:///{tmp_path}/audit.sqlite3"
    # No secret before `btam init`: create_app refuses to start then.
    assert settings.secret_key == ""


def test_development_can_relax_mfa_but_not_below_the_argon2_floor(tmp_path: Path) -> None:
    env = {"BTAM_CONFIG": "development", "BTAM_INSTANCE": str(tmp_path)}
    assert not load_settings({**env, "BTAM_SIGNIN_MFA_REQUIRED": "false"}).signin_mfa_required
    with pytest.raises(ConfigError, match="OWASP"):
        load_settings({**env, "BTAM_PASSWORDS_ARGON2_MEMORY_KIB": "4096"})


def test_settings_are_frozen_and_hide_the_secret(production_env: dict[str, str]) -> None:
    settings = load_settings(production_env)
    assert SECRET not in repr(settings)
    with pytest.raises(AttributeError):
        settings.signin_mfa_required = False  # type: ignore[misc]
