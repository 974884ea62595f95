"""``btam init`` and ``btam create-user``: the stores, the development keys, a user."""

from __future__ import annotations

import os
import secrets

import click

from btam.access.actor import Discipline
from btam.audit.context import AuditContext
from btam.cli.context import fail, system_context
from btam.context import carry_out
from btam.settings import load_settings


def _write_secret_file(path: os.PathLike[str] | str, content: str) -> None:
    # O_EXCL: never overwrite a key that data may already depend on.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(content + "\n")


@click.command()
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
        writer = writer_from_settings(settings, stores)
        writer.append(
            AuditContext.system(),
            action=AuditAction.SYSTEM_STORE_INITIALISED,
            outcome=Outcome.ALLOWED,
            purpose=f"case {schema.head_revision('case')}, audit {schema.head_revision('audit')}",
        )
        # The trail ends sealed by a signature, not only by the witness's head line.
        writer.checkpoint()
    finally:
        stores.dispose()
    click.echo("Case store and audit store are up to date.")


@click.command("create-district")
@click.argument("name")
@click.option(
    "--time-zone",
    default="UTC",
    show_default=True,
    help="IANA name of the zone times are shown and typed in, e.g. America/Chicago.",
)
def create_district(name: str, time_zone: str) -> None:
    """Create the deployment's district (once; its administrator sets the rest at /admin/)."""
    from btam.accounts.services import organisation

    with system_context() as (_rt, ctx):
        carry_out(ctx, organisation.create_district(ctx, name=name, time_zone=time_zone))
    click.echo(f"Created the district {name.strip()} ({time_zone}).")


@click.command("create-user")
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
    type=click.Choice([d.value for d in Discipline]),
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
    from btam.access.actor import Role
    from btam.accounts.services import organisation, users

    with system_context() as (_rt, ctx):
        codes = {s.code: s.id for s in organisation.list_schools(ctx)}
        ids = []
        for code in schools:
            if code.upper() not in codes:
                fail(f"no school with code {code}")
            ids.append(codes[code.upper()])
        change = users.create_user(
            ctx,
            data=users.UserData(
                username=username,
                display_name=display_name,
                role=Role(role),
                discipline=Discipline(discipline) if discipline else None,
                district_wide=not schools,
                school_ids=tuple(ids),
                agency=agency,
            ),
        )
        created = carry_out(ctx, change)
    click.echo(
        f"Created {created.username}. Temporary password (shown only now): "
        f"{created.temporary_password}"
    )
