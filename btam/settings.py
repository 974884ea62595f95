"""Typed, frozen settings: config files, then BTAM_* variables; refuse anything doubtful.

The files in ``config/`` give defaults per environment; the environment overrides them as
``BTAM_<SECTION>_<KEY>`` (``BTAM_<KEY>`` for the ``[app]`` section). Secrets are read from
files (``*_FILE``) so that they never sit in a process listing or a shell history.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
ENVIRONMENTS = ("development", "testing", "production")

# OWASP's floor for argon2id (19 MiB, 2 iterations): nothing outside the test suite may go below.
ARGON2_MIN_MEMORY_KIB = 19 * 1024
ARGON2_MIN_TIME_COST = 2

# BTAM_* names read elsewhere, so that a typo in any other BTAM_* name is refused.
OTHER_VARIABLES = frozenset(
    {"BTAM_CONFIG", "BTAM_SECRET_KEY", "BTAM_SECRET_KEY_FILE", "BTAM_DEMO_PASSWORD"}
)
OTHER_PREFIXES = ("BTAM_TEST_",)
# A host name with an optional port: what a browser puts in the Host header, nothing more.
SERVER_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::[0-9]{1,5})?")


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line meant for the operator."""


@dataclass(frozen=True)
class Settings:
    config_name: str
    instance: Path
    database_url: str
    audit_database_url: str
    key_file: Path
    audit_signing_key_file: Path
    secret_key_file: Path
    secret_key: str = field(repr=False)
    server_name: str = ""
    sqlite_single_host: bool = False
    audit_witness: Path | None = None
    audit_witness_allow_local: bool = False
    audit_public_keys_file: Path | None = None
    audit_checkpoint_every: int = 1000
    audit_checkpoint_minutes: int = 5
    session_idle_minutes: int = 15
    session_absolute_hours: int = 8
    session_secure_cookie: bool = True
    signin_mfa_required: bool = True
    signin_account_failure_limit: int = 5
    signin_address_failure_limit: int = 20
    signin_failure_window_minutes: int = 15
    signin_lockout_minutes: int = 15
    passwords_min_length: int = 15
    passwords_max_length: int = 128
    passwords_argon2_time_cost: int = 3
    passwords_argon2_memory_kib: int = 65536
    passwords_argon2_parallelism: int = 1
    http_force_https: bool = True
    http_proxy_hops: int = 0
    access_emergency_grant_hours: int = 4
    tips_client_limit: int = 5
    tips_hourly_limit: int = 300
    tips_proof_bits: int = 18

    @property
    def is_production(self) -> bool:
        return self.config_name == "production"

    @property
    def is_testing(self) -> bool:
        return self.config_name == "testing"


_TYPES: dict[str, type] = {f.name: f.type for f in fields(Settings)}  # type: ignore[misc]


def _field_name(section: str, key: str) -> str:
    return key if section == "app" else f"{section}_{key}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML ({exc})") from None
    flat: dict[str, Any] = {}
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{path.name}: '{section}' must be a [section]")
        for key, value in values.items():
            name = _field_name(section, key)
            if name not in _TYPES or name in {"config_name", "secret_key"}:
                raise ConfigError(f"{path.name}: unknown setting [{section}] {key}")
            flat[name] = value
    return flat


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = _TYPES[name]
    kind_name = kind if isinstance(kind, str) else kind.__name__
    if kind_name == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{source}: expected true or false")
    if kind_name == "int":
        if isinstance(value, bool):
            raise ConfigError(f"{source}: expected a whole number")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ConfigError(f"{source}: expected a whole number") from None
        if number < 0:
            raise ConfigError(f"{source}: must not be negative")
        return number
    return str(value).strip()


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    by_env_name = {f"BTAM_{name.upper()}": name for name in _TYPES}
    out: dict[str, Any] = {}
    for var, value in env.items():
        if not var.startswith("BTAM_"):
            continue
        if var in OTHER_VARIABLES or var.startswith(OTHER_PREFIXES):
            continue
        name = by_env_name.get(var)
        if name is None or name in {"config_name", "secret_key"}:
            raise ConfigError(f"unknown environment variable {var}")
        out[name] = _coerce(name, value, var)
    return out


def _read_secret_file(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"{what} file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"{what} file {path} cannot be read ({exc.strerror})") from None
    if len(text) < 32:
        raise ConfigError(f"{what} in {path} is shorter than 32 characters")
    return text


def database_identity(url: str) -> tuple[str, str, str, str]:
    """Reduce a database URL to what names the database itself (not the user or driver).

    :raises ConfigError: when the URL cannot be parsed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("a database URL cannot be parsed") from None
    backend = parsed.get_backend_name()
    database = parsed.database or ""
    if backend == "sqlite" and database not in {"", ":memory:"}:
        database = str(Path(database).resolve())
    default_port = {"postgresql": "5432"}.get(backend, "")
    return backend, (parsed.host or "").lower(), str(parsed.port or default_port), database


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def load_settings(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build the settings for ``BTAM_CONFIG`` from the config files, the environment and overrides.

    ``overrides`` are for tests; they win over everything else.

    :raises ConfigError: on an unknown environment, setting or variable, a malformed value,
        a missing secret in production, or both stores pointing at one database.
    """
    env = os.environ if env is None else env
    config_name = (env.get("BTAM_CONFIG") or "development").strip()
    if config_name not in ENVIRONMENTS:
        raise ConfigError(f"BTAM_CONFIG must be one of {', '.join(ENVIRONMENTS)}")
    production = config_name == "production"

    values: dict[str, Any] = {}
    values.update(_read_toml(CONFIG_DIR / "default.toml"))
    values.update(_read_toml(CONFIG_DIR / f"{config_name}.toml"))
    from_env = _env_overrides(env)
    values.update(from_env)
    for name, value in (overrides or {}).items():
        if name not in _TYPES or name == "config_name":
            raise ConfigError(f"unknown setting {name}")
        values[name] = value if name == "secret_key" else _coerce(name, value, name)

    if production:
        required = {
            "BTAM_DATABASE_URL": "database_url",
            "BTAM_AUDIT_DATABASE_URL": "audit_database_url",
            "BTAM_KEY_FILE": "key_file",
            "BTAM_AUDIT_SIGNING_KEY_FILE": "audit_signing_key_file",
        }
        for var, name in required.items():
            if not from_env.get(name) and not (overrides or {}).get(name):
                raise ConfigError(f"production needs {var}")
        if not (env.get("BTAM_SECRET_KEY") or env.get("BTAM_SECRET_KEY_FILE")) and not (
            overrides or {}
        ).get("secret_key"):
            raise ConfigError("production needs BTAM_SECRET_KEY (or BTAM_SECRET_KEY_FILE)")

    instance = Path(values.pop("instance", "instance") or "instance").resolve()
    values["instance"] = instance

    def path_setting(name: str, default_name: str) -> Path:
        raw = values.get(name) or ""
        return Path(raw).resolve() if raw else instance / default_name

    values["key_file"] = path_setting("key_file", "kek.key")
    values["audit_signing_key_file"] = path_setting("audit_signing_key_file", "audit-signing.key")
    values["audit_witness"] = path_setting("audit_witness", "audit-witness.log")
    values["audit_public_keys_file"] = path_setting(
        "audit_public_keys_file", "audit-public-keys.pem"
    )
    secret_file_raw = env.get("BTAM_SECRET_KEY_FILE") or values.get("secret_key_file") or ""
    values["secret_key_file"] = (
        Path(secret_file_raw).resolve() if secret_file_raw else instance / "secret_key"
    )
    if not values.get("database_url"):
        values["database_url"] = _sqlite_url(instance / "btam.sqlite3")
    if not values.get("audit_database_url"):
        values["audit_database_url"] = _sqlite_url(instance / "audit.sqlite3")

    if database_identity(values["database_url"]) == database_identity(values["audit_database_url"]):
        raise ConfigError("the case store and the audit store must be separate databases")

    if "secret_key" not in values:
        values["secret_key"] = env.get("BTAM_SECRET_KEY") or ""
    if not values["secret_key"]:
        # Outside production `btam init` writes this file once, so every worker shares it.
        values["secret_key"] = (
            _read_secret_file(values["secret_key_file"], "the secret key")
            if values["secret_key_file"].exists() or production
            else ""
        )
    elif len(values["secret_key"]) < 32:
        raise ConfigError("BTAM_SECRET_KEY is shorter than 32 characters")

    settings = Settings(config_name=config_name, **values)
    _check_consistency(settings)
    return settings


def _check_consistency(s: Settings) -> None:
    if s.server_name and not SERVER_NAME.fullmatch(s.server_name):
        raise ConfigError(
            "BTAM_SERVER_NAME must be a lower-case host name with an optional port, "
            "like btam.example.org (no scheme, no path)"
        )
    if s.session_idle_minutes < 1 or s.session_absolute_hours < 1:
        raise ConfigError("session lifetimes must be at least one minute and one hour")
    if s.tips_client_limit < 1 or s.tips_hourly_limit < 1:
        raise ConfigError("the tip line's limits must be at least 1")
    if not 1 <= s.tips_proof_bits <= 26:
        raise ConfigError("tips_proof_bits must be between 1 and 26")
    if not 1 <= s.access_emergency_grant_hours <= 24:
        raise ConfigError("access_emergency_grant_hours must be between 1 and 24")
    if s.passwords_min_length < 8 or s.passwords_max_length < 64:
        raise ConfigError("passwords must allow at least 64 characters and need at least 8")
    if s.passwords_min_length > s.passwords_max_length:
        raise ConfigError("passwords_min_length is larger than passwords_max_length")
    if not s.is_testing and (
        s.passwords_argon2_memory_kib < ARGON2_MIN_MEMORY_KIB
        or s.passwords_argon2_time_cost < ARGON2_MIN_TIME_COST
    ):
        raise ConfigError("argon2 parameters are below the OWASP floor (19 MiB, 2 iterations)")
    if s.is_production:
        if not s.signin_mfa_required:
            raise ConfigError("production cannot turn off multi-factor sign-in")
        if not s.session_secure_cookie or not s.http_force_https:
            raise ConfigError("production needs secure cookies and HTTPS")
        if not s.server_name:
            raise ConfigError(
                "production needs BTAM_SERVER_NAME, the host name people use (btam.example.org)"
            )
        _check_sqlite_is_single_host(s)
        for what, path in (
            ("BTAM_KEY_FILE", s.key_file),
            ("BTAM_AUDIT_SIGNING_KEY_FILE", s.audit_signing_key_file),
        ):
            if not path.is_file():
                raise ConfigError(f"{what} names {path}, which does not exist")
        if not s.audit_witness_allow_local:
            _check_witness_is_elsewhere(s)


def _device(path: Path) -> int:
    """The filesystem device of ``path``, or of its nearest existing parent."""
    for candidate in (path, *path.parents):
        try:
            return candidate.stat().st_dev
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigError(f"{candidate} cannot be examined ({exc.strerror})") from None
    raise ConfigError(f"no part of {path} exists")


def _check_witness_is_elsewhere(s: Settings) -> None:
    # The witness is what catches a store edited by whoever can write the store's files; on
    # the same disk (or in the same folder, backed up and restored with it) it is edited too.
    witness = s.audit_witness
    advice = "keep it on other storage, or set BTAM_AUDIT_WITNESS_ALLOW_LOCAL=true"
    if witness is None:
        raise ConfigError("production needs BTAM_AUDIT_WITNESS")
    if witness.is_relative_to(s.instance):
        raise ConfigError(f"BTAM_AUDIT_WITNESS {witness} is inside the instance folder; {advice}")
    device = _device(witness)
    for what, url in (("case store", s.database_url), ("audit store", s.audit_database_url)):
        backend, _host, _port, database = database_identity(url)
        if backend != "sqlite" or database in {"", ":memory:"}:
            continue
        if _device(Path(database)) == device:
            raise ConfigError(
                f"BTAM_AUDIT_WITNESS {witness} is on the same disk as the {what}; {advice}"
            )


def _check_sqlite_is_single_host(s: Settings) -> None:
    # SQLite locks through the local file system: workers on one host share a store safely,
    # workers on several hosts (a network share) corrupt it or lose writes. The app cannot see
    # the other hosts, so the operator says there are none.
    for what, url in (("case store", s.database_url), ("audit store", s.audit_database_url)):
        if database_identity(url)[0] == "sqlite" and not s.sqlite_single_host:
            raise ConfigError(
                f"the {what} is SQLite, which serves workers on one host only: set "
                "BTAM_SQLITE_SINGLE_HOST=true to confirm there is one, or use PostgreSQL"
            )
