"""The draft area and the start: refused photos are never written, the total-bytes limit holds,
and the server refuses to start for an unproven address or a set that fails."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from headpix import drafts, sessions
from headpix.samples import sample_photos
from schemas.api import CustomerSignup, Gender
from schemas.models import Photoshoot
from schemas.web import DraftPhoto
from tests.web.conftest import WebServer
from tests.web.test_privacy_centre import post_form
from web import core

MB = 1024 * 1024


def customer(web: WebServer, email: str, *, proven: bool) -> tuple[str, TestClient]:
    services = web.services
    customer_id = core.sign_up(services, CustomerSignup(name="Dee", email=email, gender=Gender.woman))
    if proven:
        sessions.use_sign_in_link(services, sessions.create_sign_in_link(services, customer_id=customer_id))
    client = TestClient(web.app, base_url=web.url)
    client.cookies.set("hpx_session", sessions.create_session(services, customer_id=customer_id))
    return customer_id, client


def stored_drafts(web: WebServer, customer_id: str) -> tuple[int, int]:
    with web.services.db.session() as session:
        rows = session.scalar(
            select(func.count()).select_from(DraftPhoto).where(DraftPhoto.customer_id == customer_id)
        )
    return rows or 0, web.services.raw_store.version_count(f"customers/{customer_id}/drafts/")


def shoots_of(web: WebServer, customer_id: str) -> int:
    with web.services.db.session() as session:
        found = select(func.count()).select_from(Photoshoot).where(Photoshoot.customer_id == customer_id)
        return session.scalar(found) or 0


def test_a_refused_photo_is_never_written(web: WebServer):
    customer_id, client = customer(web, "refused.photo@example.com", proven=True)
    answer = client.put("/api/draft/photos", params={"name": "scan.jpg"}, content=b"\xff\xd8 not a photo")
    assert answer.status_code == 200 and answer.json()["accepted"] is False
    assert answer.json()["sentences"] and answer.json()["photo_id"] is None
    assert stored_drafts(web, customer_id) == (0, 0)


def test_a_duplicate_is_refused_naming_the_photo_it_copies_and_not_written(web: WebServer):
    customer_id, client = customer(web, "duplicate.photo@example.com", proven=True)
    (_, data) = sample_photos(1)[0]
    first = client.put("/api/draft/photos", params={"name": "IMG_4102.jpg"}, content=data).json()
    assert first["accepted"], first
    again = client.put("/api/draft/photos", params={"name": "IMG_4103.jpg"}, content=data).json()
    assert not again["accepted"] and "IMG_4102.jpg" in " ".join(again["sentences"])
    assert stored_drafts(web, customer_id) == (1, 1)


def test_the_total_bytes_limit_is_enforced(web: WebServer):
    customer_id, client = customer(web, "total.bytes@example.com", proven=True)
    name, data = sample_photos(1)[0]
    drafts.add_photo(web.services, customer_id=customer_id, filename=name, data=data, sha256="0", phash="0")
    total = web.services.settings.upload_max_total_mb
    with web.services.db.session() as session:  # as if the drafts so far were nearly the total
        session.execute(
            update(DraftPhoto)
            .where(DraftPhoto.customer_id == customer_id)
            .values(size_bytes=int((total - 0.5) * MB))
        )
    answer = client.put("/api/draft/photos", params={"name": "big.jpg"}, content=b"\0" * MB)
    assert answer.status_code == 413 and answer.json()["error"] == "total_too_large"
    assert f"{total:g} MB" in answer.json()["message"]
    assert stored_drafts(web, customer_id)[0] == 1


def test_the_server_refuses_to_start_for_an_unproven_address(web: WebServer):
    customer_id, client = customer(web, "unproven.start@example.com", proven=False)
    for index, (name, data) in enumerate(sample_photos(web.services.settings.min_photos)):
        drafts.add_photo(
            web.services, customer_id=customer_id, filename=name, data=data, sha256=str(index), phash="0"
        )
    api = client.post("/api/draft/start")
    assert api.status_code == 409 and api.json()["error"] == "address_unproven"
    page = post_form(client, "/start", {}, page="/upload")
    assert page.status_code == 409 and "confirm your address" in page.text
    assert shoots_of(web, customer_id) == 0 and stored_drafts(web, customer_id)[0] > 0


def test_the_server_refuses_to_start_a_set_that_fails(web: WebServer):
    customer_id, client = customer(web, "failing.set@example.com", proven=True)
    name, data = sample_photos(1)[0]
    drafts.add_photo(web.services, customer_id=customer_id, filename=name, data=data, sha256="0", phash="0")
    api = client.post("/api/draft/start")
    assert api.status_code == 409 and api.json()["error"] == "photos_refused", api.text
    assert str(web.services.settings.min_photos) in api.json()["message"]
    page = post_form(client, "/start", {}, page="/upload")
    assert page.status_code == 409
    assert shoots_of(web, customer_id) == 0 and stored_drafts(web, customer_id)[0] == 1
