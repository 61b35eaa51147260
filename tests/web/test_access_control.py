"""A second customer reaches none of the first one's shoots, galleries, exports or requests.

Every route of the app is tried (the route table, not a list kept by hand): a route with an id
in its path answers 404 to another customer, whatever the method; a route with a token answers
404 to a token that does not exist.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from headpix import drafts, sessions
from headpix.privacy import requests
from headpix.privacy.requests import RequestType
from headpix.samples import sample_photos
from headpix.storage import Keys
from schemas.api import CustomerSignup, Gender
from schemas.models import utcnow
from schemas.privacy import DataExport
from tests.web.conftest import WebServer
from tests.web.seed import delivered_shoot_with_headshot
from web import core

UNKNOWN_TOKEN = "x" * 43


def customer(web: WebServer, email: str) -> tuple[str, TestClient]:
    services = web.services
    customer_id = core.sign_up(services, CustomerSignup(name="Ida", email=email, gender=Gender.woman))
    client = TestClient(web.app, base_url=web.url)
    client.cookies.set("hpx_session", sessions.create_session(services, customer_id=customer_id))
    return customer_id, client


def owned_ids(web: WebServer, customer_id: str, email: str) -> dict[str, str]:
    """A delivered shoot with a headshot, a draft photo, an access request with its export."""
    services = web.services
    shoot_id, headshot_id = delivered_shoot_with_headshot(web, customer_id)
    name, data = sample_photos(1)[0]
    photo_id = drafts.add_photo(
        services, customer_id=customer_id, filename=name, data=data, sha256="0" * 64, phash="0"
    )
    request_id = requests.submit(services, RequestType.access, email).request_id
    with services.db.session() as session:
        key = Keys.customer(customer_id) + "exports/test.zip"
        services.store.put(key, b"PK\x05\x06" + b"\0" * 18)
        session.add(
            DataExport(
                request_id=request_id,
                customer_id=customer_id,
                key=key,
                token_hash="f" * 64,
                expires_at=utcnow().replace(year=utcnow().year + 1),
            )
        )
    return {
        "shoot_id": shoot_id,
        "headshot_id": headshot_id,
        "photo_id": photo_id,
        "request_id": request_id,
        "token": UNKNOWN_TOKEN,
        "version": "no-such-version",
    }


def route_table(app: Any) -> list[APIRoute]:
    """Every API route of the app; FastAPI keeps included routers as branches of app.routes."""
    found: list[APIRoute] = []
    pending = list(app.routes)
    while pending:
        route = pending.pop(0)
        if isinstance(route, APIRoute):
            found.append(route)
        elif getattr(route, "original_router", None) is not None:
            pending.extend(route.original_router.routes)
    return found


def csrf_of(client: TestClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/privacy").text)
    assert found
    return found.group(1)


def call(client: TestClient, method: str, path: str, csrf: str) -> Any:
    if method == "GET":
        return client.get(path, follow_redirects=False)
    if path.startswith("/api/"):
        return client.request(method, path, content=b"", headers={"content-type": "application/octet-stream"})
    return client.request(
        method,
        path,
        content=f"csrf={csrf}".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


@pytest.fixture(scope="module")
def two_customers(web: WebServer) -> tuple[dict[str, str], TestClient, TestClient]:
    first_id, first = customer(web, "first.owner@example.com")
    _, second = customer(web, "second.other@example.com")
    return owned_ids(web, first_id, "first.owner@example.com"), first, second


def test_every_route_with_an_id_or_token_is_404_for_another_customer(web: WebServer, two_customers: Any):
    ids, _first, second = two_customers
    csrf = csrf_of(second)
    tried = []
    for route in route_table(web.app):
        if not route.param_convertors:
            continue
        path = route.path_format.format(**{name: ids[name] for name in route.param_convertors})
        for method in sorted(route.methods or ()):
            response = call(second, method, path, csrf)
            assert response.status_code == 404, f"{method} {route.path} answered {response.status_code}"
            assert ids["shoot_id"] not in response.text and "Traceback" not in response.text
            tried.append(f"{method} {route.path}")
    assert len(tried) >= 20, tried


def test_the_owner_reaches_the_same_ids(web: WebServer, two_customers: Any):
    ids, first, _ = two_customers
    for route in route_table(web.app):
        if "GET" not in (route.methods or ()):
            continue
        names = set(route.param_convertors)
        if not names or names & {"token", "version"}:
            continue
        path = route.path_format.format(**{name: ids[name] for name in names})
        assert first.get(path).status_code == 200, f"GET {route.path}"
