"""What every command shares: a system context over the stores, and the one-line failure."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from btam.audit.context import AuditContext
from btam.context import ServiceContext
from btam.runtime import Runtime, build_runtime
from btam.settings import Settings, load_settings


def fail(message: str) -> None:
    """Print a one-line reason and exit 1."""
    click.echo(f"btam: {message}", err=True)
    sys.exit(1)


@contextmanager
def system_context(settings: Settings | None = None) -> Iterator[tuple[Runtime, ServiceContext]]:
    """A runtime and a service context acting as the system, closed afterwards.

    Its session writes (``BEGIN IMMEDIATE`` on SQLite), since commands change the stores
    while the app may be serving.
    """
    rt = build_runtime(settings or load_settings())
    db = rt.stores.case_write_sessions()
    try:
        yield rt, rt.context(db, AuditContext.system())
    finally:
        db.close()
        rt.stores.dispose()
