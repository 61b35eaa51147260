"""The JSON API's OpenAPI schema, fuzzed by schemathesis: no 500, no response leaking internals."""

from __future__ import annotations

from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from headpix import sessions
from schemas.api import CustomerSignup, Gender
from tests.web.conftest import WebServer
from web import core

LEAKS = (
    *("Traceback", "sqlalchemy", 'File "', "/work/", "site-packages", "Exception", "psycopg", "SELECT "),
    *("--set", "FIELD=VALUE", "--scope", "headpix ", "exit code"),  # CLI words shown to web customers
)


def no_internals(ctx: Any, response: Any, case: Any) -> bool | None:
    """A response names no stack trace, module, path, SQL or command-line syntax."""
    text = response.text if isinstance(response.text, str) else ""
    leaked = [marker for marker in LEAKS if marker in text]
    if leaked:
        raise AssertionError(f"{case.method} {case.path} leaked {leaked}: {text[:200]}")
    return None


@pytest.fixture(scope="module")
def session_cookie(web: WebServer) -> str:
    customer_id = core.sign_up(
        web.services, CustomerSignup(name="Fuzz", email="fuzz@example.com", gender=Gender.woman)
    )
    return sessions.create_session(web.services, customer_id=customer_id)


def test_every_api_operation_survives_fuzzing(web: WebServer, session_cookie: str) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", web.app)
    fuzzed = []
    for result in schema.get_all_operations():
        operation = cast(Any, result).ok()  # Ok or Err: an Err raises, which fails the test

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: Any) -> None:
            for cookies in ({}, {"hpx_session": session_cookie}):
                case.call_and_validate(cookies=cookies, checks=[not_a_server_error, no_internals])

        fuzz()
        fuzzed.append(operation.label)
    assert len(fuzzed) >= 12, fuzzed
