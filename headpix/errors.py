"""Errors that reach a user: a stable code, a message that says what to do, an exit status."""

from __future__ import annotations


class HeadpixError(Exception):
    """Base for errors shown to a user."""

    code = "error"
    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if exit_code is not None:
            self.exit_code = exit_code


class CommandError(HeadpixError):
    """A command refused its input."""


class UsageError(HeadpixError):
    code = "usage"
    exit_code = 2


class NotFound(HeadpixError):
    code = "not_found"
