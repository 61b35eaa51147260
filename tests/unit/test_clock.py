from datetime import UTC, datetime

import pytest

from headpix.clock import parse_time
from headpix.errors import UsageError


def test_bare_date_is_midnight_utc() -> None:
    assert parse_time("2026-05-01") == datetime(2026, 5, 1, tzinfo=UTC)


def test_time_without_zone_is_utc() -> None:
    assert parse_time("2026-05-01T12:30") == datetime(2026, 5, 1, 12, 30, tzinfo=UTC)


def test_zone_is_converted_to_utc() -> None:
    assert parse_time("2026-05-01T12:00+02:00") == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert parse_time("2026-05-01T12:00Z") == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "tomorrow", "2026-13-01", "01/05/2026"])
def test_refuses_other_forms(text: str) -> None:
    with pytest.raises(UsageError, match="ISO-8601"):
        parse_time(text)
