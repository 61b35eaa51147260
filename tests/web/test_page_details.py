"""Pages quote the configured settings, count views per route without identifiers, and show focus.

An app of its own whose settings differ from the defaults: a 20-minute sign-in link, at least
six photos, photos at least 64 px on the short side (the default is 256).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from headpix import drafts, sessions
from headpix.samples import sample_photos
from schemas.api import CustomerSignup, Gender
from schemas.models import Photoshoot
from schemas.privacy import UsageEvent
from tests.web.conftest import web_services
from web import core
from web.app import create_app

URL = "http://127.0.0.1:8766"
STATIC = Path(__file__).resolve().parents[2] / "web" / "static"


@pytest.fixture(scope="module")
def app(session_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    services = web_services(
        tmp_path_factory.mktemp("own-settings"), session_dir, URL, sign_in_link_minutes=20, min_photos=6
    )
    yield create_app(services)
    services.db.dispose()


def signed_in(app: Any, email: str, *, proven: bool = True) -> tuple[str, TestClient]:
    services = app.state.ctx.services
    customer_id = core.sign_up(services, CustomerSignup(name="Ode", email=email, gender=Gender.man))
    if proven:
        sessions.use_sign_in_link(services, sessions.create_sign_in_link(services, customer_id=customer_id))
    client = TestClient(app, base_url=URL)
    client.cookies.set("hpx_session", sessions.create_session(services, customer_id=customer_id))
    return customer_id, client


def test_sign_in_pages_quote_the_configured_link_lifetime(app: Any):
    client = TestClient(app, base_url=URL)
    assert "for 20 minutes" in client.get("/signin").text
    answer = client.post("/api/signin", json={"email": "nobody.minutes@example.com"})
    assert "for 20 minutes" in answer.json()["message"] and "15" not in answer.json()["message"]


def test_intake_sentences_quote_the_configured_rules(app: Any):
    customer_id, client = signed_in(app, "configured.rules@example.com")
    tiny = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(tiny, format="PNG")
    answer = client.put("/api/draft/photos", params={"name": "thumb.png"}, content=tiny.getvalue()).json()
    assert not answer["accepted"] and "under 64 px" in " ".join(answer["sentences"]), answer
    name, data = sample_photos(1)[0]
    drafts.add_photo(
        app.state.ctx.services, customer_id=customer_id, filename=name, data=data, sha256="0", phash="0"
    )
    start = client.post("/api/draft/start")
    assert start.status_code == 409 and "at least 6" in start.json()["message"], start.json()


def test_training_before_progress_arrives_says_it_is_starting(app: Any):
    customer_id, client = signed_in(app, "starting.training@example.com")
    with app.state.ctx.services.db.session() as session:
        shoot = Photoshoot(customer_id=customer_id, status="training", styles=["studio"])
        session.add(shoot)
        session.flush()
        shoot_id = shoot.id
    status = client.get(f"/api/shoots/{shoot_id}").json()
    assert "0 of 0" not in status["message"] and "starting" in status["message"]
    assert "0 of 0" not in client.get(f"/shoots/{shoot_id}").text


def counts(app: Any) -> dict[str, int]:
    with app.state.ctx.services.db.session() as session:
        found: dict[str, int] = {}
        for row in session.scalars(select(UsageEvent)):
            found[row.event] = found.get(row.event, 0) + row.count
        return found


def test_page_views_are_counted_per_route_with_no_identifier(app: Any):
    customer_id, client = signed_in(app, "counted.views@example.com")
    with app.state.ctx.services.db.session() as session:
        shoot = Photoshoot(customer_id=customer_id, status="received", styles=["studio"])
        session.add(shoot)
        session.flush()
        shoot_id = shoot.id
    before = counts(app)
    for _ in range(2):
        assert client.get(f"/shoots/{shoot_id}").status_code == 200
    assert client.get("/privacy").status_code == 200
    assert client.get("/policy").status_code == 200
    after = counts(app)
    grew = {
        event: after[event] - before.get(event, 0) for event in after if after[event] != before.get(event, 0)
    }
    assert grew == {
        "page_view:/shoots/{shoot_id}": 2,
        "page_view:/privacy": 1,
        "page_view:/policy": 1,
    }, grew
    assert client.get("/no-such-page").status_code == 404 and counts(app) == after
    identifiers = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}|@|[0-9a-f]{24}")
    assert not [event for event in after if identifiers.search(event)], after


def test_the_drop_zone_shows_keyboard_focus():
    """The file input is visually hidden, so its drop zone shows where the focus is."""
    css = (STATIC / "app.css").read_text()
    rule = re.search(r"\.dropzone:focus-within\s*\{([^}]*)\}", css)
    assert rule and "outline" in rule.group(1)
