"""The deliver stage: the gallery email queued once and sent claim-then-send; the shoot delivered.

The link's token is minted when the mail is sent. A customer being erased gets no mail: the
fence is checked before queueing and again before sending.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import select

from headpix import analytics, gallery, personal
from headpix.likeness import customer_note, summarise
from headpix.outbox import Dispatched, dispatch, enqueue
from headpix.services import Services
from headpix.shoots import S, advance, enter_stage, load_shoot, rejected_summary
from schemas.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

# Quick tries while the shoot waits (1 s, 2 s, 4 s with jitter); the sweep takes over after.
INLINE_TRIES = 4
INLINE_BACKOFF = timedelta(seconds=1)
INLINE_WAIT_CAP_S = 60.0


def deliver(services: Services, shoot_id: str) -> str:
    """Queue the gallery email once (outbox), send it (claim-then-send), mark the shoot delivered.

    The link's token is minted when the mail is sent; two runs at once send it once.
    """
    settings, keys = services.settings, services.keys
    dedup = f"delivery:{shoot_id}"
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        if shoot.status == S.delivered.value:
            return "already delivered"
        enter_stage(shoot, S.delivering)
        # An erasure under way: no link, no mail, no status change; the erasure ends the shoot.
        services.fences.check(shoot.customer_id)
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup)) is None:
            customer = shoot.customer
            refused = rejected_summary(keys, shoot.customer_id, shoot.photos)
            likeness_lines = customer_note(summarise(shoot, settings))
            enqueue(
                session,
                keys,
                dedup_key=dedup,
                kind="delivery",
                customer_id=shoot.customer_id,
                ref_id=shoot_id,
                to=personal.email_of(keys, customer),
                subject="Your Headpix photoshoot is ready",
                body=gallery.delivery_body(
                    personal.name_of(keys, customer),
                    gallery.style_counts(shoot),
                    refused,
                    settings,
                    likeness=likeness_lines,
                ),
            )
        message_id = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup))
        customer_id = shoot.customer_id
    assert message_id is not None
    outcome = _send_with_retries(services, customer_id, message_id)
    if outcome.status == "pending":  # still refused: the sweep retries it after its backoff
        log.warning("shoot %s: delivery mail not accepted yet; queued for retry", shoot_id)
    elif outcome.status == "needs_attention":
        log.warning(
            "shoot %s: delivery mail %s needs an operator (fate unknown or refused)", shoot_id, message_id
        )
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        if shoot.status != S.delivered.value:
            advance(shoot, S.delivered, detail="")
            shoot.delivered_at = utcnow()
            analytics.count(session, "shoot_delivered", shoot.delivered_at)
    return outcome.status


def _send_with_retries(services: Services, customer_id: str, message_id: str) -> Dispatched:
    """A few quick tries (backoff with jitter, or the provider's Retry-After) while the shoot waits;
    only refusals are retried: a message whose fate is unknown goes to an operator."""
    outcome = Dispatched("pending")
    for _ in range(INLINE_TRIES):
        services.fences.check(customer_id)  # confirmed erasure since: the gallery mail never leaves
        outcome = dispatch(services, message_id, base=INLINE_BACKOFF)
        wait = _due_in(services, message_id) if outcome.status == "pending" else None
        if wait is None or wait > INLINE_WAIT_CAP_S:
            return outcome
        time.sleep(wait)
    return outcome


def _due_in(services: Services, message_id: str) -> float | None:
    """Seconds until a pending message may be tried again; None when it is not pending."""
    with services.db.session() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None or row.status != "pending" or not row.attempts:
            return None
        if row.next_attempt_at is None:
            return 0.0
        return max(0.0, (row.next_attempt_at - utcnow()).total_seconds())
