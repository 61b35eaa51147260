"""Helpers for erasure tests: a customer with sealed objects, tokens from mail, nothing-left checks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from headpix.privacy import requests
from headpix.privacy.requests import RequestType
from headpix.privacy.verify import rows_referring
from headpix.samples import sample_photos
from headpix.services import Services
from headpix.shoots import receive_shoot, register_customer
from headpix.storage import Keys
from schemas.api import CustomerSignup, Gender, Preferences
from tests.integration.test_privacy_requests import body, mailbox

TOKEN = re.compile(r"(?:/privacy/confirm/[0-9a-f-]+/|token[:=] *|--token )([0-9A-Za-z_\-]{16,})")


def customer_with_objects(services: Services, email: str, *, versions: int = 2) -> tuple[str, str]:
    """Register a customer and store a shoot's originals (sealed), plus a headshot written
    ``versions`` times, so that a versioned bucket holds several versions of one key."""
    signup = CustomerSignup(
        name="Zq Erasure Path",
        email=email,
        gender=Gender.woman,
        preferences=Preferences(attire="ZqPinstripe"),
    )
    with services.db.session() as session:
        customer = register_customer(session, services.keys, signup, channel="cli")
        session.expunge(customer)
    shoot_id = receive_shoot(services, customer, sample_photos(2))
    for _ in range(versions):
        services.store.put(Keys.headshot(customer.id, shoot_id, "h0"), b"headshot bytes")
    return customer.id, shoot_id


def token_for(services: Services, request_id: str) -> str:
    """The confirmation token, read from the mail as the customer would."""
    for message in reversed(mailbox(services)):
        text = body(message)
        found = TOKEN.search(text)
        if found and request_id in text:
            return found.group(1)
    raise AssertionError(f"no confirmation mail for request {request_id}")


def request_and_confirm(services: Services, email: str, *, now: datetime | None = None) -> str:
    view = requests.submit(services, RequestType.erasure, email, now=now)
    requests.confirm(services, view.request_id, token_for(services, view.request_id), now=now)
    return view.request_id


def status_of(services: Services, request_id: str) -> str:
    return requests.status(services, request_id).status


def nothing_left(services: Services, customer_id: str) -> dict[str, Any]:
    """Rows carrying the id, object versions (and delete markers) under the prefix, the key."""
    return {
        "rows": rows_referring(services, customer_id, skip=set()),
        "object_versions": services.raw_store.version_count(Keys.customer(customer_id)),
        "data_key": services.keys.has_key(customer_id),
        "fenced": services.fences.is_fenced(customer_id),
    }


CLEAN = {"rows": [], "object_versions": 0, "data_key": False, "fenced": False}


class RecordingLauncher:
    """Stands for a Prefect server that takes runs but whose workers are down: nothing runs."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []

    def start_shoot(self, shoot_id: str, *, attempt: int = 0) -> None:
        self.started.append(("shoot", shoot_id))

    def cancel_shoot(self, shoot_id: str) -> None:
        self.started.append(("cancel", shoot_id))

    def start_erasure(self, request_id: str, *, as_of: datetime | None = None) -> None:
        self.started.append(("erasure", request_id))

    def send_policy_notices(self, version: str) -> None:
        self.started.append(("policy", version))

    def is_running(self, shoot_id: str) -> bool | None:
        return False
