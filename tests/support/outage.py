"""Stores that do not answer: a real driver meeting a refused connection, no mocks."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

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
