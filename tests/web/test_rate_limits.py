"""Rate limits per client and per address (or account) on sign-up, uploads and privacy requests.

Sign-in's limits are in test_security.py. This app has its own limiter, at three a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headpix import sessions
from schemas.api import CustomerSignup, Gender
from tests.web.conftest import web_services
from web import core
from web.app import create_app

LIMIT = 3
URL = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def app(session_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    services = web_services(
        tmp_path_factory.mktemp("tight-limits"),
        session_dir,
        URL,
        rate_limit_per_minute=LIMIT,
        upload_rate_per_minute=LIMIT,
    )
    yield create_app(services)
    services.db.dispose()


def client(app: Any, address: str) -> TestClient:
    return TestClient(app, base_url=URL, client=(address, 40000))


def signup(email: str) -> dict[str, Any]:
    return {"name": "Kim", "email": email, "gender": "man", "consent": True}


def test_sign_up_is_limited_per_client_and_per_address(app: Any):
    flooder = client(app, "192.0.2.20")
    codes = [
        flooder.post("/api/signup", json=signup("signup.flood@example.com")).status_code for _ in range(4)
    ]
    assert codes == [200] * LIMIT + [429]
    assert flooder.post("/api/signup", json=signup("signup.fresh@example.com")).status_code == 429
    other = client(app, "192.0.2.21")
    assert other.post("/api/signup", json=signup("signup.flood@example.com")).status_code == 429
    assert other.post("/api/signup", json=signup("signup.calm@example.com")).status_code == 200


def test_uploads_are_limited_per_client_and_per_account(app: Any):
    services = app.state.ctx.services
    customer_id = core.sign_up(
        services, CustomerSignup(name="Up", email="upload.flood@example.com", gender=Gender.man)
    )
    token = sessions.create_session(services, customer_id=customer_id)
    phone, laptop = client(app, "192.0.2.30"), client(app, "192.0.2.31")
    for device in (phone, laptop):
        device.cookies.set("hpx_session", token)

    def put(device: TestClient, n: int) -> int:
        return device.put(
            "/api/draft/photos", params={"name": f"{n}.jpg"}, content=b"not a photo"
        ).status_code

    assert [put(phone, n) for n in range(4)] == [200] * LIMIT + [429]
    assert put(laptop, 9) == 429, "the account's limit holds from another client too"
    other_id = core.sign_up(
        services, CustomerSignup(name="Up", email="upload.calm@example.com", gender=Gender.man)
    )
    tablet = client(app, "192.0.2.32")
    tablet.cookies.set("hpx_session", sessions.create_session(services, customer_id=other_id))
    assert put(tablet, 1) == 200
    phone.cookies.set("hpx_session", sessions.create_session(services, customer_id=other_id))
    assert put(phone, 10) == 429, "the client's limit holds for another account too"


def test_privacy_requests_are_limited_per_client_and_per_address(app: Any):
    def ask(device: TestClient, email: str) -> int:
        return device.post("/api/privacy/requests", json={"type": "access", "email": email}).status_code

    flooder = client(app, "192.0.2.40")
    assert [ask(flooder, "privacy.flood@example.com") for _ in range(4)] == [200] * LIMIT + [429]
    assert ask(flooder, "privacy.other@example.com") == 429
    other = client(app, "192.0.2.41")
    assert ask(other, "privacy.flood@example.com") == 429
    assert ask(other, "privacy.calm@example.com") == 200
