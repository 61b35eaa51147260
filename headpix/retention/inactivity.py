"""Inactive customers: warned after the inactivity period, erased after the grace period."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from headpix import links, personal
from headpix.outbox import enqueue
from headpix.outbox_batches import dispatch_pending
from headpix.privacy.audit import record
from headpix.privacy.erasure import try_erasure
from headpix.privacy.requests import OPEN
from headpix.retention.common import BATCH, in_batches
from headpix.services import Services
from schemas.models import (
    Customer,
)
from schemas.privacy import PrivacyRequest

log = logging.getLogger(__name__)


# -- inactive customers -----------------------------------------------------------------------------


def _inactive_since(services: Services, now: datetime) -> datetime:
    return now - timedelta(days=services.settings.inactivity_days)


def warn_inactive_customers(services: Services, now: datetime) -> int:
    """Tell customers inactive for the configured period that their data goes unless they return."""
    grace = services.settings.inactivity_grace_days
    query = (
        select(Customer)
        .where(
            Customer.last_active_at < _inactive_since(services, now),
            or_(
                Customer.inactivity_warned_at.is_(None),
                Customer.inactivity_warned_at < Customer.last_active_at,
            ),
        )
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    queued: list[str] = []

    def act(session: Session, customer: Customer) -> None:
        customer.inactivity_warned_at = now
        message = enqueue(
            session,
            services.keys,
            dedup_key=f"inactive:{customer.id}:{int(customer.last_active_at.timestamp())}",
            kind="inactivity_warning",
            customer_id=customer.id,
            to=personal.email_of(services.keys, customer),
            subject="Your Headpix account will be deleted",
            body=(
                f"Hello {personal.name_of(services.keys, customer)},\n\n"
                "You have not used Headpix for a long time. Unless you sign in "
                f"within {grace} days, we will delete your account and everything we hold about you.\n"
                f"Sign in here to keep it: {links.home_url(services.settings)}signin\n"
                "— Headpix"
            ),
        )
        queued.append(message.id)

    warned = in_batches(services, lambda s: list(s.scalars(query)), act)
    dispatch_pending(services, queued)
    return warned


def erase_inactive_customers(services: Services, now: datetime) -> int:
    """Erase customers warned at least the grace period ago who did not come back."""

    warned_before = now - timedelta(days=services.settings.inactivity_grace_days)
    due = (
        Customer.last_active_at < _inactive_since(services, now),
        Customer.inactivity_warned_at.is_not(None),
        Customer.inactivity_warned_at >= Customer.last_active_at,
        Customer.inactivity_warned_at <= warned_before,
    )
    open_erasure = exists().where(
        PrivacyRequest.customer_id == Customer.id,
        PrivacyRequest.type == "erasure",
        PrivacyRequest.status.in_([s.value for s in OPEN]),
    )
    with services.db.session() as session:
        customer_ids = list(session.scalars(select(Customer.id).where(*due, ~open_erasure)))
    erased = 0
    for customer_id in customer_ids:
        with services.db.session() as session:
            customer = session.scalar(
                select(Customer)
                .where(Customer.id == customer_id, *due, ~open_erasure)
                .with_for_update(skip_locked=True)
            )
            if customer is None:
                continue
            request = PrivacyRequest(
                type="erasure",
                status="confirmed",
                customer_id=customer_id,
                subject_ref=services.keys.pseudonym(customer_id),
                confirmed_at=now,
                due_at=now + timedelta(days=services.settings.erasure_days),
                created_at=now,
            )
            session.add(request)
            session.flush()
            record(
                session,
                actor="retention",
                action="request.confirmed",
                subject_ref=request.subject_ref,
                request_id=request.id,
                details={"type": "erasure", "reason": "inactivity"},
            )
            request_id = request.id
        # The customer row is unlocked before erasing: the erasure deletes it in its own session.
        try_erasure(services, request_id, now)
        erased += 1
    return erased
