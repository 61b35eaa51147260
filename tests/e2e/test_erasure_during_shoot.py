"""An erasure confirmed while the customer's shoot is rendering: once the run has stopped, nothing
of the customer is left anywhere, and no gallery email goes out after the confirmation."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from headpix.app import runner
from headpix.intake import PhotoInput
from headpix.samples import sample_photos
from headpix.services import Services
from schemas.api import CustomerSignup, Gender, Preferences
from schemas.models import Customer, OutboxMessage, Photoshoot
from tests.e2e.erasure_support import CLEAN, nothing_left, request_and_confirm, status_of

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("ray_local")]
SLOW_RENDER = {"images_per_style": 6, "inference_steps": 8}
EMAIL = "zq.midshoot@example.com"


def start_in_background(services: Services) -> threading.Thread:
    photos = [PhotoInput(file=n, data=d, size=len(d)) for n, d in sample_photos(4)]
    signup = CustomerSignup(name="Zq Midshoot", email=EMAIL, gender=Gender.man, preferences=Preferences())
    thread = threading.Thread(target=runner.start_shoot, args=(services, signup, photos), daemon=True)
    thread.start()
    return thread


def wait_for_generating(services: Services, thread: threading.Thread) -> tuple[str, str]:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and thread.is_alive():
        with services.db.session() as session:
            row = session.execute(select(Photoshoot.id, Photoshoot.customer_id, Photoshoot.status)).first()
        if row is not None and row.status == "generating":
            return row.id, row.customer_id
        time.sleep(0.02)
    raise AssertionError("the shoot never reached generating")


def gallery_mails(services: Services) -> list[Path]:
    return [p for p in services.settings.mail_folder.glob("*.eml") if b"gallery" in p.read_bytes().lower()]


def folders_named(root: Path, name: str) -> list[Path]:
    return [p for p in root.rglob(f"*{name}*")] if root.exists() else []


def erase_mid_generation(services: Services) -> tuple[str, str]:
    thread = start_in_background(services)
    shoot_id, customer_id = wait_for_generating(services, thread)
    request_id = request_and_confirm(services, EMAIL)
    thread.join(timeout=600)
    assert not thread.is_alive(), "the shoot's run did not stop"
    assert status_of(services, request_id) == "completed"
    assert nothing_left(services, customer_id) == CLEAN
    with services.db.session() as session:
        assert session.get(Customer, customer_id) is None
        assert session.get(Photoshoot, shoot_id) is None
        kinds = list(session.scalars(select(OutboxMessage.kind)))
    assert "delivery" not in kinds
    return shoot_id, customer_id


def test_on_embedded_default(make_services):
    services = make_services(**SLOW_RENDER)
    shoot_id, customer_id = erase_mid_generation(services)
    state = services.settings.state_dir
    assert folders_named(state / "objects", customer_id) == []  # no folder still named by the id
    assert folders_named(state / "objects", shoot_id) == []
    gallery_mails = [
        p for p in services.settings.mail_folder.glob("*.eml") if b"gallery" in p.read_bytes().lower()
    ]
    assert gallery_mails == [], "a gallery email went out after the erasure was confirmed"


@pytest.mark.postgres
@pytest.mark.s3
def test_on_postgres_and_versioned_s3(make_services, fresh_postgres_url, s3_server):
    bucket = s3_server.versioned_bucket()
    services = make_services(
        database_url=fresh_postgres_url,
        storage_url=f"s3://{bucket}/hp",
        s3_endpoint_url=s3_server.endpoint,
        s3_access_key_id="test",
        s3_secret_access_key="test",
        **SLOW_RENDER,
    )
    _, customer_id = erase_mid_generation(services)
    assert [v["Key"] for v in s3_server.all_versions(bucket) if customer_id in v["Key"]] == []
    assert gallery_mails(services) == [], "a gallery email went out after the erasure was confirmed"
