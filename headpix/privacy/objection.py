"""Objection to marketing: a suppression list every marketing send checks at send time.

The list holds a keyed hash of the address (``keys.pseudonym("mail:" + address)``), never
the address, and the customer's id so that a later change of address stays suppressed and
erasure can take the row with the customer. Transactional mail is not affected.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from headpix import personal
from headpix.errors import NotFound
from headpix.outbox import enqueue
from headpix.privacy.audit import record
from headpix.privacy.request_mail import dispatch_request_mail, notify
from headpix.privacy.requests import RequestStatus, load_request, move
from headpix.safeguards import address_hash
from headpix.safeguards import is_suppressed as suppressed
from headpix.services import Services
from schemas.models import Customer
from schemas.privacy import Suppression

R = RequestStatus
__all__ = ["address_hash", "is_suppressed", "object_to_marketing", "queue_marketing"]


def object_to_marketing(services: Services, request_id: str, now: datetime) -> None:
    """Suppress the customer's address for marketing at once and acknowledge it."""
    with services.db.session() as session:
        request = load_request(session, request_id)
        customer = session.get(Customer, request.customer_id)
        assert customer is not None
        move(session, request, R.in_progress, actor="system")
        email = personal.email_of(services.keys, customer)
        digest = address_hash(services.keys, email)
        if session.scalar(select(Suppression).where(Suppression.address_hash == digest)) is None:
            session.add(Suppression(address_hash=digest, customer_id=customer.id, created_at=now))
        record(
            session,
            actor="system",
            action="marketing.suppressed",
            subject_ref=request.subject_ref,
            request_id=request.id,
        )
        notify(
            session,
            services.keys,
            request,
            kind="objection_ack",
            tag="objection",
            to=email,
            subject="You will get no more marketing mail from us",
            lines=[
                "As you asked, we no longer use your data for marketing and send you no",
                "marketing mail. Mail about your photoshoots and requests still reaches you.",
            ],
        )
        request.completed_at = now
        request.outcome = {"suppressed": 1}
        move(session, request, R.completed, actor="system")
    dispatch_request_mail(services, request_id)


def is_suppressed(services: Services, address: str) -> bool:
    """Whether marketing to this address is refused."""
    with services.db.session() as session:
        return suppressed(session, services.keys, address, None)


def queue_marketing(services: Services, customer_id: str, subject: str, body: str, dedup_key: str) -> str:
    """Queue one marketing message to a customer; suppression is checked when it is sent."""
    with services.db.session() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"no customer with id {customer_id}")
        row = enqueue(
            session,
            services.keys,
            dedup_key=dedup_key,
            kind="marketing",
            customer_id=customer.id,
            to=personal.email_of(services.keys, customer),
            subject=subject,
            body=body,
            category="marketing",
        )
        return row.id
