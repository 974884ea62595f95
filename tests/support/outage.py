"""Stores that do not answer: a real driver meeting a refused connection, no mocks."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy.engine import make_url

from btam import create_app


@contextmanager
def closed_port() -> Iterator[int]:
    """A local TCP port that is bound (so nobody else takes it) but refuses connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def silent_port() -> Iterator[int]:
    """A local TCP port that takes connections and never says a word: a database server hung
    before its greeting, or one behind a firewall that lets the handshake through."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def worker_with(overrides: dict[str, object], **dead: bool) -> Iterator[Flask]:
    """Another worker on the same stores, except that the stores named in ``dead`` are down."""
    with closed_port() as port:
        changed = dict(overrides)
        if dead.get("audit"):
            changed["audit_database_url"] = f"postgresql+psycopg://btam@127.0.0.1:{port}/audit"
        if dead.get("case"):
            changed["database_url"] = f"postgresql+psycopg://btam@127.0.0.1:{port}/case"
        worker = create_app(changed)
        try:
            yield worker
        finally:
            worker.extensions["btam"].stores.dispose()


def read_only(url: str) -> str:
    """The same store, opened so that it answers reads and refuses every write."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"
    # As after a fail-over to a standby, or a role left with SELECT only.
    readonly = parsed.update_query_dict({"options": "-c default_transaction_read_only=on"})
    return readonly.render_as_string(hide_password=False)


@contextmanager
def worker_refusing_audit_writes(overrides: dict[str, object]) -> Iterator[Flask]:
    """Another worker on the same stores, whose audit store answers reads but refuses writes."""
    refusing = {**overrides, "audit_database_url": read_only(str(overrides["audit_database_url"]))}
    worker = create_app(refusing)
    try:
        yield worker
    finally:
        worker.extensions["btam"].stores.dispose()


@contextmanager
def refusing_inserts(app: Flask, table: str) -> Iterator[str]:
    """The case store refuses every INSERT into ``table`` with an error of its own (a trigger),
    as a full disk, a lost lock or a broken constraint would: a real store error, mid-request.

    Yields the store's message, which must never reach a page or a log line.
    """
    message = "the store refused this write"
    engine = app.extensions["btam"].stores.case_engine
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:
            conn.exec_driver_sql(
                "CREATE FUNCTION btam_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER btam_test_refuse BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION btam_test_refuse()"
            )
        else:
            conn.exec_driver_sql(
                f"CREATE TRIGGER btam_test_refuse BEFORE INSERT ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    try:
        yield message
    finally:
        with engine.begin() as conn:
            if postgres:
                conn.exec_driver_sql(f"DROP TRIGGER btam_test_refuse ON {table}")
                conn.exec_driver_sql("DROP FUNCTION btam_test_refuse()")
            else:
                conn.exec_driver_sql("DROP TRIGGER btam_test_refuse")
