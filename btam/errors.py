"""The domain's exceptions: their messages are safe to show, and they carry no content."""

from __future__ import annotations


class BTAMError(Exception):
    """Base of the domain's exceptions; messages are safe to show to the user."""


class NotFound(BTAMError):
    """The record does not exist, or lies outside what the actor may see (the same answer)."""


class AccessDenied(BTAMError):
    """The policy refuses the action; ``reason`` is machine-readable and shows no content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ValidationFailed(BTAMError):
    """Input that a service refuses; ``field`` names the form field when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Conflict(ValidationFailed):
    """The change would clash with an existing record (a user name taken, for example)."""


class StoreUnavailable(BTAMError):
    """The case store could not record what must be recorded before going on (a sign-in
    attempt is counted before its password is checked): nothing was decided."""


class ReauthenticationRequired(BTAMError):
    """The change needs the actor's password again: the session has not proved it lately."""
