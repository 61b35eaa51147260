"""The gallery by token: an expired link reveals nothing, and the ZIP is streamed entry by entry."""

from __future__ import annotations

import functools
import io
import re
import secrets
import zipfile
from datetime import timedelta

import httpx
import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from headpix import personal
from headpix.links import hash_token
from headpix.storage import Keys
from schemas.api import CustomerSignup, Gender
from schemas.models import GalleryLink, Headshot, Photoshoot, utcnow
from tests.web.conftest import WebServer
from web import core
from web.zipstream import stream_zip


def shoot_with_headshots(web: WebServer, email: str, count: int, side: int = 64) -> tuple[str, list[str]]:
    services = web.services
    customer_id = core.sign_up(services, CustomerSignup(name="Gal", email=email, gender=Gender.woman))
    rng = np.random.default_rng(7)
    with services.db.session() as session:
        shoot = Photoshoot(
            customer_id=customer_id, status="delivered", styles=["studio"], images_per_style=count
        )
        session.add(shoot)
        session.flush()
        ids = []
        for ordinal in range(count):
            png = io.BytesIO()  # noise: it does not compress, so the archive is large
            Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(png, format="PNG")
            shot = Headshot(
                shoot_id=shoot.id, ordinal=ordinal, style="studio", seed=ordinal, key="", rendered_at=utcnow()
            )
            personal.seal_prompts(services.keys, customer_id, shot, prompt="p", negative="")
            session.add(shot)
            session.flush()
            shot.key = Keys.headshot(customer_id, shoot.id, shot.id)
            services.store.put(shot.key, png.getvalue())
            ids.append(shot.id)
        return shoot.id, ids


def gallery_link(web: WebServer, shoot_id: str, *, expires_in: timedelta) -> str:
    token = secrets.token_hex(24)
    with web.services.db.session() as session:
        session.add(
            GalleryLink(shoot_id=shoot_id, token_hash=hash_token(token), expires_at=utcnow() + expires_in)
        )
    return token


def without_csrf(text: str) -> str:
    return re.sub(r'name="csrf" value="[^"]+"', "", text)


def test_an_expired_gallery_link_is_a_404_that_reveals_nothing(web: WebServer):
    shoot_id, (headshot_id,) = shoot_with_headshots(web, "expired.gallery@example.com", 1)
    live = gallery_link(web, shoot_id, expires_in=timedelta(days=1))
    expired = gallery_link(web, shoot_id, expires_in=-timedelta(minutes=1))
    client = TestClient(web.app, base_url=web.url)
    assert client.get(f"/g/{live}").status_code == 200
    unknown = client.get(f"/g/{secrets.token_hex(24)}")
    for path in (f"/g/{expired}", f"/g/{expired}/zip", f"/g/{expired}/headshots/{headshot_id}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert shoot_id not in response.text and headshot_id not in response.text
    assert without_csrf(client.get(f"/g/{expired}").text) == without_csrf(unknown.text)  # same page


def test_the_gallery_zip_is_streamed_and_holds_every_headshot(web: WebServer):
    shoot_id, ids = shoot_with_headshots(web, "zip.stream@example.com", 4, side=400)
    token = gallery_link(web, shoot_id, expires_in=timedelta(days=1))
    chunks = []
    with httpx.stream("GET", f"{web.url}/g/{token}/zip", timeout=30) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers, "a streamed ZIP has no length up front"
        assert response.headers["cache-control"] == "private, no-store"
        chunks = list(response.iter_raw())
    assert len(chunks) > 1
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        assert archive.namelist() == [f"studio-{n:02d}.png" for n in range(1, len(ids) + 1)]
        assert all(Image.open(archive.open(name)).size == (400, 400) for name in archive.namelist())


def test_each_zip_entry_is_loaded_only_when_it_is_written():
    loaded: list[str] = []

    def load(name: str) -> bytes:
        loaded.append(name)
        return name.encode() * 1000

    stream = stream_zip([(name, functools.partial(load, name)) for name in ("a", "b", "c")])
    first = next(stream)
    assert first.startswith(b"PK") and loaded == ["a"]
    rest = b"".join(stream)
    assert loaded == ["a", "b", "c"]
    with zipfile.ZipFile(io.BytesIO(first + rest)) as archive:
        assert archive.read("c") == b"c" * 1000
