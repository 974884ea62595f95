"""What one process builds once from the settings: stores, audit writer, password and session rules.

Both the web app and the command line use it, so they enforce exactly the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from btam.access.actor import Actor
from btam.accounts.authn import SessionRules, Throttle
from btam.assessment.catalog import Catalog, ModelError, load_catalog
from btam.audit.context import AuditContext
from btam.audit.signing import SigningKeyError
from btam.audit.writer import AuditWriter, writer_from_settings
from btam.context import ServiceContext
from btam.db import Stores, open_stores, utcnow
from btam.security.crypto import KeyFileError
from btam.security.keys import KekMismatch, KekSource, check_kek_matches, session_info
from btam.security.passwords import PasswordHashing, PasswordRules
from btam.settings import ConfigError, Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    stores: Stores
    catalog: Catalog
    audit: AuditWriter
    hashing: PasswordHashing
    password_rules: PasswordRules
    throttle: Throttle
    session_rules: SessionRules

    def context(
        self, db: Session, audit_ctx: AuditContext, actor: Actor | None = None
    ) -> ServiceContext:
        """A service context over ``db`` for one unit of work."""
        return ServiceContext(
            actor=actor,
            db=db,
            audit=self.audit,
            audit_ctx=audit_ctx,
            audit_sessions=self.stores.audit_sessions,
            settings=self.settings,
            hashing=self.hashing,
            password_rules=self.password_rules,
            throttle=self.throttle,
            session_rules=self.session_rules,
            catalog=self.catalog,
            now=utcnow(),
        )


def build_runtime(settings: Settings) -> Runtime:
    """Open the stores and build the rules of ``settings``.

    :raises ConfigError: when the audit signing key or the encryption key (KEK) cannot be
        loaded, the KEK cannot unwrap the case store's data keys (the wrong key file), or an
        assessment model file is malformed.
    """
    try:
        catalog = load_catalog()
    except ModelError as exc:
        raise ConfigError(f"assessment model {exc}") from None
    try:
        kek = KekSource.load(settings.key_file)
    except KeyFileError as exc:
        raise ConfigError(f"encryption key: {exc.reason}") from None
    stores = open_stores(
        settings.database_url, settings.audit_database_url, case_session_info=session_info(kek)
    )
    try:
        check_kek_matches(stores.case_sessions, kek)
        audit = writer_from_settings(settings, stores)
    except KekMismatch as exc:
        stores.dispose()
        raise ConfigError(f"encryption key: {exc}") from None
    except SigningKeyError as exc:
        stores.dispose()
        raise ConfigError(str(exc)) from None
    return Runtime(
        settings=settings,
        stores=stores,
        catalog=catalog,
        audit=audit,
        hashing=PasswordHashing(
            time_cost=settings.passwords_argon2_time_cost,
            memory_kib=settings.passwords_argon2_memory_kib,
            parallelism=settings.passwords_argon2_parallelism,
        ),
        password_rules=PasswordRules(
            min_length=settings.passwords_min_length, max_length=settings.passwords_max_length
        ),
        throttle=Throttle(
            secret=settings.secret_key.encode(),
            account_limit=settings.signin_account_failure_limit,
            address_limit=settings.signin_address_failure_limit,
            window=timedelta(minutes=settings.signin_failure_window_minutes),
            lockout=timedelta(minutes=settings.signin_lockout_minutes),
        ),
        session_rules=SessionRules(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
        ),
    )
