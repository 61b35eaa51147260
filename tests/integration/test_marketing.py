"""Objection to marketing: suppression checked at send time, by keyed hash; transactional mail flows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from headpix.outbox import dispatch, enqueue
from headpix.privacy import requests
from headpix.privacy.objection import is_suppressed, queue_marketing
from headpix.privacy.requests import RequestType
from schemas.models import OutboxMessage
from schemas.privacy import Suppression
from tests.integration.test_privacy_requests import add_customer, token_from_mail

ADA = "ada@example.com"


def send_pending(services) -> None:
    with services.db.session() as session:
        ids = list(session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending")))
    for message_id in ids:
        dispatch(services, message_id)


def statuses(services) -> dict[str, str]:
    with services.db.session() as session:
        return {row.dedup_key: row.status for row in session.scalars(select(OutboxMessage))}


def sent_to(recorder, address: str) -> list[str]:
    return [m["subject"] for m in recorder.messages if m["personalizations"][0]["to"][0]["email"] == address]


@pytest.mark.postgres
def test_objection_suppresses_marketing_queued_before_it(make_services, postgres_url, sendgrid):
    services = make_services(
        database_url=postgres_url,
        mail_backend="sendgrid",
        sendgrid_api_key="SG.k",
        sendgrid_host=sendgrid.url,
    )
    address = f"ada-{id(services)}@example.com"
    customer_id = add_customer(services, address)
    queue_marketing(services, customer_id, "Spring offer", "20% off", dedup_key=f"promo-spring:{customer_id}")
    with services.db.session() as session:
        enqueue(
            session,
            services.keys,
            dedup_key=f"delivery:{customer_id}",
            kind="delivery",
            customer_id=customer_id,
            to=address,
            subject="Your photoshoot is ready",
            body="gallery link",
        )

    view = requests.submit(services, RequestType.objection, address)
    assert view.status == "completed"
    send_pending(services)

    assert statuses(services)[f"promo-spring:{customer_id}"] == "suppressed"
    assert statuses(services)[f"delivery:{customer_id}"] == "sent"
    subjects = sent_to(sendgrid, address)
    assert "Spring offer" not in subjects
    assert {"Your photoshoot is ready", "You will get no more marketing mail from us"} <= set(subjects)
    with services.db.session() as session:
        [row] = session.scalars(select(Suppression).where(Suppression.customer_id == customer_id)).all()
        assert row.address_hash == services.keys.pseudonym("mail:" + address)
        assert address not in row.address_hash
    assert is_suppressed(services, address.upper())
    assert not is_suppressed(services, "someone-else@example.com")


def test_suppression_survives_a_change_of_address(make_services):
    services = make_services()
    customer_id = add_customer(services, ADA)
    requests.submit(services, RequestType.objection, ADA)
    rectify = requests.submit(services, RequestType.rectification, ADA, changes={"email": "ada2@example.com"})
    requests.confirm(services, rectify.request_id, token_from_mail(services, rectify.request_id))

    queue_marketing(services, customer_id, "Autumn offer", "…", dedup_key="promo-autumn:1")
    send_pending(services)
    assert statuses(services)["promo-autumn:1"] == "suppressed"


def test_marketing_without_objection_is_sent(make_services):
    services = make_services()
    customer_id = add_customer(services, ADA)
    queue_marketing(services, customer_id, "Spring offer", "20% off", dedup_key="promo-spring:1")
    send_pending(services)
    assert statuses(services)["promo-spring:1"] == "sent"
    # RFC 8058: a one-click unsubscribe (the objection) in the headers and in the text.
    from email import message_from_bytes, policy

    [sent] = list(services.settings.mail_folder.glob("*.eml"))
    message = message_from_bytes(sent.read_bytes(), policy=policy.default)
    url = message["List-Unsubscribe"].strip("<>")
    assert url.startswith(f"{services.settings.public_url}/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in message.get_content()
