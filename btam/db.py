"""The two stores: the case store and the audit store, each with its own metadata and engine."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event, inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class CaseBase(DeclarativeBase):
    """Tables of the case store: people, cases, users and everything a team records."""

    metadata = MetaData(naming_convention=NAMING)


class AuditBase(DeclarativeBase):
    """Tables of the audit store: entries and checkpoints, never case content."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned timezone-aware.

    SQLite keeps no time zone, so without this a value read back would compare wrongly with
    an aware ``datetime.now(UTC)``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def vocabulary(enum: type[StrEnum]) -> Enum:
    """Store a closed vocabulary as its plain value (VARCHAR), read back as the enum."""
    return Enum(
        enum,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


# Seconds a PostgreSQL connection may take to open before the request gives up (libpq's
# connect_timeout): without it a store behind a silent network hangs every worker for minutes.
CONNECT_TIMEOUT_SECONDS = 10


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (or none), with a connect
    timeout unless the URL sets its own (``?connect_timeout=N``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        if "connect_timeout" not in parsed.query:
            parsed = parsed.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_SECONDS)})
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, immediate: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and real transactions.

    ``immediate`` makes every SQLite transaction take the write lock at BEGIN, which is how
    appends to the audit chain are serialised across processes. An engine made with
    ``execution_options(btam_begin="IMMEDIATE")`` (:func:`writing`) does the same for the
    transactions of one unit of work that will write: a deferred transaction that reads and
    then writes fails at once with "database is locked" when another writer got in between
    (the busy timeout does not apply), while ``BEGIN IMMEDIATE`` waits its turn.
    """
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        _create_private_file(Path(parsed.database))

    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling starts transactions late and never for DDL;
        # switch it off and emit BEGIN ourselves (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    default_mode = "IMMEDIATE" if immediate else "DEFERRED"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("btam_begin", default_mode)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")

    return engine


def _create_private_file(path: Path) -> None:
    """Create a SQLite file readable by its owner only (its -wal and -shm files follow suit)."""
    if path.exists() or not path.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def insert_ignoring_conflicts(db: Session, model: Any, **values: Any) -> bool:
    """Insert a row unless one with its key exists; True when this call inserted it.

    The row count decides, so of two workers racing for the same key exactly one wins.
    """
    dialect = db.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # RETURNING, not the row count: drivers do not all count an insert that did nothing.
    key = inspect(model).primary_key
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(*key)
    return db.execute(statement).first() is not None


def writing(engine: Engine) -> Engine:
    """The same engine whose transactions take the write lock at BEGIN (SQLite)."""
    return engine.execution_options(btam_begin="IMMEDIATE")


def begin_writing(db: Session) -> None:
    """Commit the session's transaction so far and begin the next one for writing.

    For a unit of work that has read in a deferred transaction (every GET) and now must
    write: on SQLite that transaction's snapshot may be older than another worker's commit,
    and its first write would then fail at once ("database is locked", SQLITE_BUSY_SNAPSHOT,
    which the busy timeout does not cover). The new transaction begins IMMEDIATE, so it waits
    its turn and reads the latest data; whatever it decides must be read again inside it.
    """
    db.commit()
    db.connection(execution_options={"btam_begin": "IMMEDIATE"})


@dataclass(frozen=True)
class Stores:
    """The engines and session factories of both stores, opened once per process.

    ``case_write_sessions`` are for units of work that will write (every POST): on SQLite
    their transactions begin IMMEDIATE; ``case_sessions`` are for reading.
    """

    case_engine: Engine
    audit_engine: Engine
    case_sessions: sessionmaker[Session]
    case_write_sessions: sessionmaker[Session]
    audit_sessions: sessionmaker[Session]

    def dispose(self) -> None:
        self.case_engine.dispose()
        self.audit_engine.dispose()


def open_stores(
    case_url: str, audit_url: str, *, case_session_info: Mapping[str, Any] | None = None
) -> Stores:
    """Open both stores; nothing is created or migrated here (``btam init`` does that).

    ``case_session_info`` goes into every case-store session's ``info``: it is how the KEK
    reaches the encrypted fields (``btam.security.keys.session_info``).
    """
    case_engine = make_engine(case_url)
    audit_engine = make_engine(audit_url, immediate=True)
    info = dict(case_session_info or {})
    return Stores(
        case_engine=case_engine,
        audit_engine=audit_engine,
        case_sessions=sessionmaker(case_engine, expire_on_commit=False, info=info),
        case_write_sessions=sessionmaker(
            writing(case_engine), expire_on_commit=False, info=dict(info)
        ),
        audit_sessions=sessionmaker(audit_engine, expire_on_commit=False),
    )
