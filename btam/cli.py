"""The ``btam`` command: set up the stores, load the demo, manage users from the shell.

Commands run the same services as the web app, as the system actor, so every change they
make is checked and audited the same way.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from btam.audit.context import AuditContext
from btam.errors import BTAMError
from btam.runtime import Runtime, build_runtime
from btam.services import ServiceContext
from btam.settings import ConfigError, Settings, load_settings


def _fail(message: str) -> None:
    click.echo(f"btam: {message}", err=True)
    sys.exit(1)


def _write_secret_file(path: os.PathLike[str] | str, content: str) -> None:
    # O_EXCL: never overwrite a key that data may already depend on.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(content + "\n")


@contextmanager
def system_context(settings: Settings | None = None) -> Iterator[tuple[Runtime, ServiceContext]]:
    """A runtime and a service context acting as the system, closed afterwards."""
    rt = build_runtime(settings or load_settings())
    db = rt.stores.case_sessions()
    try:
        yield rt, rt.context(db, AuditContext.system())
    finally:
        db.close()
        rt.stores.dispose()


@click.group()
def cli() -> None:
    """BTAM: case management for school behavioral threat assessment teams."""


@cli.command()
@click.option(
    "--audit-migration-url",
    default=None,
    help="Migrate the audit store as this (owner) role; the application's own role may only "
    "INSERT and SELECT there. Default: BTAM_AUDIT_DATABASE_URL.",
)
def init(audit_migration_url: str | None) -> None:
    """Create the instance folder, development keys and both stores (safe to run again)."""
    from btam import schema
    from btam.audit.actions import AuditAction, Outcome
    from btam.audit.signing import generate_signing_key_file
    from btam.audit.writer import writer_from_settings
    from btam.db import make_engine, open_stores
    from btam.security.crypto import generate_key_file

    settings = load_settings()
    settings.instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not settings.is_production:
        made = []
        if not settings.secret_key_file.exists() and not os.environ.get("BTAM_SECRET_KEY"):
            _write_secret_file(settings.secret_key_file, secrets.token_urlsafe(48))
            made.append("secret key")
        if not settings.key_file.exists():
            generate_key_file(settings.key_file)
            made.append("encryption key")
        if not settings.audit_signing_key_file.exists():
            generate_signing_key_file(settings.audit_signing_key_file)
            made.append("audit signing key")
        if made:
            click.echo(f"Generated {', '.join(made)} in {settings.instance} (mode 0600).")
    stores = open_stores(settings.database_url, settings.audit_database_url)
    try:
        schema.upgrade(stores.case_engine, "case")
        if audit_migration_url:
            owner_engine = make_engine(audit_migration_url, immediate=True)
            try:
                schema.upgrade(owner_engine, "audit")
            finally:
                owner_engine.dispose()
        else:
            schema.upgrade(stores.audit_engine, "audit")
        writer_from_settings(settings, stores).append(
            AuditContext.system(),
            action=AuditAction.SYSTEM_STORE_INITIALISED,
            outcome=Outcome.ALLOWED,
            purpose=f"case {schema.head_revision('case')}, audit {schema.head_revision('audit')}",
        )
    finally:
        stores.dispose()
    click.echo("Case store and audit store are up to date.")


@cli.command()
@click.option(
    "--password",
    help="Password of every demo account (else BTAM_DEMO_PASSWORD, "
    "else a generated one printed once).",
)
@click.option(
    "--reset-passwords", is_flag=True, help="Give existing demo accounts the password too."
)
def demo(password: str | None, reset_passwords: bool) -> None:
    """Load the demo district: schools, a team, an account for every role and its cases."""
    from btam.demo import load_demo
    from btam.security.passwords import temporary_password

    chosen = password or os.environ.get("BTAM_DEMO_PASSWORD") or ""
    generated = not chosen
    chosen = chosen or temporary_password()
    with system_context() as (_rt, ctx):
        result = load_demo(ctx, password=chosen, reset_passwords=reset_passwords)
    click.echo("Demo district: Riverbend Unified School District")
    click.echo(f"{'user name':<18} {'who':<24} role")
    for account in result.created + result.existing:
        click.echo(f"{account.username:<18} {account.display_name:<24} {account.description}")
    if result.created or reset_passwords:
        shown = chosen if generated else "(the one you gave)"
        click.echo(f"Password for {'these' if reset_passwords else 'the new'} accounts: {shown}")
        if generated:
            click.echo("It is shown only now. `btam demo --reset-passwords` sets a new one.")
    else:
        click.echo(
            "The demo accounts existed already; their passwords are unchanged "
            "(`btam demo --reset-passwords` sets a new one)."
        )
    if result.cases:
        click.echo(f"Demo cases loaded: {', '.join(result.cases)}")
    if result.tip_code:
        click.echo(
            f"Follow-up code of the demo tip with a conversation (at /tip/follow-up): "
            f"{result.tip_code}"
        )
    click.echo(
        "Every role but staff sets up two-step sign-in (an authenticator app) at first sign-in."
    )


@cli.command("create-user")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="The person's full name.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(
        ["district_admin", "team_lead", "team_member", "counselor", "staff", "auditor"]
    ),
)
@click.option(
    "--discipline",
    type=click.Choice(["administrator", "mental_health", "law_enforcement", "other"]),
)
@click.option(
    "--school",
    "schools",
    multiple=True,
    help="School code; repeat for several. Omit for the whole district.",
)
@click.option("--agency", default=None, help="Outside employer (police department, clinic).")
def create_user(
    username: str,
    display_name: str,
    role: str,
    discipline: str | None,
    schools: tuple[str, ...],
    agency: str | None,
) -> None:
    """Create a user; a temporary password is printed once and must be changed at sign-in."""
    from sqlalchemy import select

    from btam.accounts import services
    from btam.accounts.models import School
    from btam.security.actor import Discipline, Role

    with system_context() as (_rt, ctx):
        ids = []
        for code in schools:
            school_id = ctx.db.execute(
                select(School.id).where(School.code == code.upper())
            ).scalar_one_or_none()
            if school_id is None:
                _fail(f"no school with code {code}")
            ids.append(int(school_id))  # type: ignore[arg-type]
        created = services.create_user(
            ctx,
            data=services.UserData(
                username=username,
                display_name=display_name,
                role=Role(role),
                discipline=Discipline(discipline) if discipline else None,
                district_wide=not schools,
                school_ids=tuple(ids),
                agency=agency,
            ),
        )
    click.echo(
        f"Created {created.username}. Temporary password (shown only now): "
        f"{created.temporary_password}"
    )


def _register_subcommands() -> None:
    from btam.audit.cli import audit
    from btam.security.keys_cli import keys

    cli.add_command(audit)
    cli.add_command(keys)


_register_subcommands()


def main() -> None:
    """Entry point: one-line reasons instead of tracebacks for what the operator can fix."""
    from btam.audit.writer import AuditUnavailable

    try:
        cli.main(standalone_mode=True)
    except ConfigError as exc:
        _fail(f"configuration: {exc}")
    except AuditUnavailable:
        _fail("the audit store is unavailable; nothing was changed")
    except BTAMError as exc:
        _fail(str(exc))
