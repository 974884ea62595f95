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
