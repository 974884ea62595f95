"""The district administrator's changes ask for the password proved lately, not a session only.

A session left open on a shared computer, or a copied cookie, must not be enough to give an
account rights or to reset someone's password: every change to users, teams and schools
needs the actor's password checked within the last 15 minutes in that same session (signing
in counts; the account page's "confirm your password" renews it). The command line acts as
the system, with no session, and is trusted as the operator at the shell.
"""

from __future__ import annotations

from datetime import timedelta

from btam.accounts import authn
from btam.context import ServiceContext
from btam.errors import ReauthenticationRequired

REAUTH_WINDOW = timedelta(minutes=15)


def password_recent(ctx: ServiceContext) -> bool:
    """Whether the actor's session proved its password within the last 15 minutes (the
    command line's system actor always passes)."""
    if ctx.actor is None:
        return True
    return authn.reauthenticated_since(
        ctx.db, token=ctx.actor.session_token, since=ctx.now - REAUTH_WINDOW
    )


def require_recent_password(ctx: ServiceContext) -> None:
    """Refuse an administrative change unless the actor's password was proved lately.

    :raises ReauthenticationRequired: when the session has not proved it in 15 minutes.
    """
    if not password_recent(ctx):
        raise ReauthenticationRequired("confirm your password to make this change")
