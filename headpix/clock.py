"""Times given on the command line: ISO-8601, UTC unless a zone is given, a bare date is midnight UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from headpix.errors import UsageError


def parse_time(text: str) -> datetime:
    """Parse TIME or DATE into an aware UTC datetime; refuse anything else with the expected form."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{text!r} is not an ISO-8601 time; use e.g. 2026-05-01, 2026-05-01T12:00 "
            "or 2026-05-01T12:00+02:00",
            code="invalid_time",
        ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
