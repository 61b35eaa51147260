"""Send-time safeguards, below the outbox and the stages: restriction holds, objection suppresses.

They are checked when a message is handed over, never only when it is queued, so a message
queued before a restriction or an objection is held or suppressed all the same.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from headpix.privacy.crypto import KeyRing
from schemas.models import OutboxMessage
from schemas.privacy import PrivacyRequest, Restriction, Suppression


def active_restriction(session: Session, customer_id: str) -> Restriction | None:
    return session.scalar(
        select(Restriction)
        .where(Restriction.customer_id == customer_id, Restriction.lifted_at.is_(None))
        .order_by(Restriction.placed_at)
        .limit(1)
    )


def is_restricted(session: Session, customer_id: str) -> bool:
    """Whether a restriction of processing is in force for this customer."""
    return active_restriction(session, customer_id) is not None


def address_hash(keys: KeyRing, address: str) -> str:
    """The suppression list's keyed hash of an address (never the address)."""
    return keys.pseudonym("mail:" + address.strip().lower())


def is_suppressed(session: Session, keys: KeyRing, address: str, customer_id: str | None) -> bool:
    match = Suppression.address_hash == address_hash(keys, address)
    if customer_id is not None:
        match = or_(match, Suppression.customer_id == customer_id)
    return session.scalar(select(Suppression.id).where(match).limit(1)) is not None


def may_send(session: Session, row: OutboxMessage) -> bool:
    """While restricted, only mail about a privacy request of this customer leaves."""
    if row.customer_id is None or not is_restricted(session, row.customer_id):
        return True
    request_id = row.request_id or row.dedup_key.rsplit(":", 1)[-1]
    request = session.get(PrivacyRequest, request_id)
    return request is not None and request.customer_id == row.customer_id


def verdict(session: Session, keys: KeyRing, row: OutboxMessage, recipient: str) -> str | None:
    """``held`` or ``suppressed`` when the message must not leave now; None when it may."""
    if not may_send(session, row):
        return "held"  # released to pending when the restriction is lifted
    if row.category == "marketing" and is_suppressed(session, keys, recipient, row.customer_id):
        return "suppressed"
    return None
