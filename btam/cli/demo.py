"""``btam demo``: the fictional district, loaded through the services."""

from __future__ import annotations

import os

import click

from btam.cli.context import system_context


@click.command()
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
    with system_context() as (rt, ctx):
        result = load_demo(ctx, password=chosen, reset_passwords=reset_passwords)
        # Everything the demo recorded ends under a signed checkpoint.
        rt.audit.checkpoint()
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
