"""The ``btam`` command: set up the stores, load the demo, manage users, keys and the trail.

Commands run the same services as the web app, as the system actor, so every change they
make is checked and audited the same way.
"""

from __future__ import annotations

import click

from btam.cli import audit, demo, keys, maintenance, setup
from btam.cli.context import fail
from btam.errors import BTAMError
from btam.settings import ConfigError


@click.group()
def cli() -> None:
    """BTAM: case management for school behavioral threat assessment teams."""


for command in (
    setup.init,
    setup.create_district,
    demo.demo,
    setup.create_user,
    audit.audit,
    keys.keys,
    maintenance.maintenance,
):
    cli.add_command(command)


def main() -> None:
    """Entry point: one-line reasons instead of tracebacks for what the operator can fix."""
    from btam.audit.writer import AuditUnavailable

    try:
        cli.main(standalone_mode=True)
    except ConfigError as exc:
        fail(f"configuration: {exc}")
    except AuditUnavailable:
        fail("the audit store is unavailable; nothing was changed")
    except BTAMError as exc:
        fail(str(exc))
