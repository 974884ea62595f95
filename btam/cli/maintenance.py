"""``btam maintenance``: what the app otherwise does by itself as requests come in."""

from __future__ import annotations

import click

from btam import housekeeping
from btam.cli.context import system_context


@click.group()
def maintenance() -> None:
    """Upkeep of the stores."""


@maintenance.command("prune")
def prune() -> None:
    """Delete expired rate-limit salts and counts, spent proofs of work and past alerts now.

    Requests do this at most once a minute; run it from cron or a systemd timer on a site that
    may go without requests, so that no salt outlives its window by more than the timer's step.
    """
    with system_context() as (_rt, ctx):
        removed = housekeeping.prune(ctx.db, now=ctx.now)
        ctx.db.commit()
    counts = ", ".join(f"{count} {kind}" for kind, count in removed.items())
    click.echo(f"pruned: {counts}")
