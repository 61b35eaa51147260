"""Web sign-ups whose address was never proven are forgotten after ``draft_hours`` (a sweep category).

A sign-up records the customer and their consent before the mailed link is opened; one that is
never opened has no shoot and no request, and nothing of it may outlive the draft area. Its
rows, objects (every version) and data key go the way an erasure removes them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select

from headpix.privacy.erasure_scope import delete_rows, parse_scope
from headpix.privacy.hold_rules import active_holds
from headpix.services import Services
from headpix.storage import Keys
from schemas.models import Photoshoot
from schemas.privacy import PrivacyRequest
from schemas.web import WebAccount


def forget_unproven_signups(services: Services, now: datetime) -> int:
    cutoff = now - timedelta(hours=services.settings.draft_hours)
    with services.db.session() as session:
        stale = list(
            session.scalars(
                select(WebAccount.customer_id).where(
                    WebAccount.address_proven_at.is_(None),
                    WebAccount.created_at < cutoff,
                    ~exists().where(Photoshoot.customer_id == WebAccount.customer_id),
                    ~exists().where(PrivacyRequest.customer_id == WebAccount.customer_id),
                )
            )
        )
    forgotten = 0
    for customer_id in stale:
        with services.db.session() as session:
            if active_holds(session, customer_id, now):
                continue
        services.raw_store.delete_prefix(Keys.customer(customer_id))
        with services.db.session() as session:
            delete_rows(session, customer_id, parse_scope(None), set())
        services.keys.destroy(customer_id)
        forgotten += 1
    return forgotten
