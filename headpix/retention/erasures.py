"""Erasures the sweep finishes: confirmed ones due, ones whose holds are gone, and overdue counts."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from headpix.privacy.erasure import try_erasure
from headpix.privacy.hold_rules import active_holds
from headpix.retention.common import ERASURE_DUE, POLICY_ERASURE_DAYS
from headpix.services import Services
from schemas.privacy import PrivacyRequest

log = logging.getLogger(__name__)


# -- erasures -------------------------------------------------------------------------------------


def run_due_erasures(services: Services, now: datetime) -> int:
    """Carry out confirmed erasures not yet done (and on-hold ones whose holds are all gone)."""

    with services.db.session() as session:
        due = list(
            session.scalars(
                select(PrivacyRequest.id).where(
                    PrivacyRequest.type == "erasure",
                    PrivacyRequest.status.in_(ERASURE_DUE),
                    or_(PrivacyRequest.confirmed_at.is_(None), PrivacyRequest.confirmed_at <= now),
                )
            )
        )
        for request_id, customer_id in session.execute(
            select(PrivacyRequest.id, PrivacyRequest.customer_id).where(
                PrivacyRequest.type == "erasure", PrivacyRequest.status == "on_hold"
            )
        ):
            if customer_id is None or not active_holds(session, customer_id, now):
                due.append(request_id)
    done = 0
    for request_id in due:
        # run_erasure takes the request's claim itself: a second claim here, on another
        # connection, is refused by PostgreSQL and the erasure would silently not run.
        if try_erasure(services, request_id, now) in ("completed", "on_hold"):
            done += 1
    return done


# -- overdue and the whole sweep --------------------------------------------------------------------


def overdue_erasures(services: Services, now: datetime) -> int:
    """Erasures open longer than 14 days after confirmation, not counting time under a legal hold."""
    limit = timedelta(days=POLICY_ERASURE_DAYS).total_seconds()
    with services.db.session() as session:
        rows = session.execute(
            select(
                PrivacyRequest.status,
                PrivacyRequest.confirmed_at,
                PrivacyRequest.held_seconds,
                PrivacyRequest.on_hold_since,
            ).where(
                PrivacyRequest.type == "erasure",
                PrivacyRequest.status.in_(("confirmed", "in_progress", "on_hold")),
                PrivacyRequest.confirmed_at.is_not(None),
            )
        ).all()
    overdue = 0
    for status, confirmed_at, held_seconds, on_hold_since in rows:
        if confirmed_at is None:
            continue
        end: datetime = now
        if status == "on_hold":  # the clock stopped when the hold began
            end = on_hold_since or confirmed_at
        if (end - confirmed_at).total_seconds() - (held_seconds or 0) > limit:
            overdue += 1
    return overdue
