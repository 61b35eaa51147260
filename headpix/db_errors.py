"""Database errors of ours that carry no personal data.

A driver's error text holds the values it was given (PostgreSQL's ``DETAIL: Key (email)=(…)``,
SQLAlchemy's ``[parameters: …]``), and such text reaches logs, Prefect included. The adapter
translates every driver error into one of these, built from the constraint and table names
only, and drops the original from the chain (``from None``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc

from headpix.errors import HeadpixError


class DatabaseError(HeadpixError):
    """A database operation failed; the message names tables and constraints, never values."""

    code = "database_error"


class Conflict(DatabaseError):
    """A unique, foreign-key or check constraint refused the write."""

    code = "conflict"


class InvalidData(DatabaseError):
    """A value did not fit its column (too long, wrong type)."""

    code = "invalid_data"


class Unavailable(DatabaseError):
    """The database could not be reached or dropped the connection; try again."""

    code = "database_unavailable"


def _diagnostic(error: exc.DBAPIError) -> tuple[str | None, str | None]:
    diag: Any = getattr(error.orig, "diag", None)  # psycopg: names only, no values
    if diag is None:
        return None, None
    return getattr(diag, "constraint_name", None), getattr(diag, "table_name", None)


def _sqlite_names(error: exc.DBAPIError) -> str | None:
    # sqlite3 says e.g. "UNIQUE constraint failed: customers.email_index" (column names only)
    text = str(error.orig) if error.orig is not None else ""
    if "constraint failed:" in text:
        return text.split("constraint failed:", 1)[1].strip()
    return None


def translate(error: exc.SQLAlchemyError) -> DatabaseError:
    """Our error for a driver error: which constraint or table, and what to do."""
    constraint, table = _diagnostic(error) if isinstance(error, exc.DBAPIError) else (None, None)
    names = constraint or (_sqlite_names(error) if isinstance(error, exc.DBAPIError) else None)
    where = f"constraint {names}" if names else "a constraint"
    on = f" on table {table}" if table else ""
    if isinstance(error, exc.IntegrityError):
        return Conflict(
            f"the write was refused by {where}{on}: the row exists already or refers to a missing one"
        )
    if isinstance(error, exc.DataError):
        return InvalidData(f"a value did not fit its column{on}; check lengths and types before writing")
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.DisconnectionError):
        cause = type(getattr(error, "orig", None) or error).__name__
        return Unavailable(
            f"the database refused or lost the connection ({cause}); "
            "check HEADPIX_DATABASE_URL and that the server is up, then try again"
        )
    return DatabaseError(
        f"the database refused the operation ({type(error).__name__}{on}); see the server's log by time"
    )


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise driver errors as ours, with the original (and its values) dropped from the chain."""
    try:
        yield
    except exc.SQLAlchemyError as error:
        raise translate(error) from None
