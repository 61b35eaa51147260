"""The deliver stage: the gallery email queued once and sent claim-then-send; the shoot delivered.

The link's token is minted when the mail is sent. A customer being erased gets no mail: the
fence is checked before queueing and again before sending.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from headpix import analytics, gallery, personal
from headpix.likeness import customer_note, summarise
from headpix.outbox import dispatch, enqueue
from headpix.services import Services
from headpix.shoots import S, advance, enter_stage, load_shoot, rejected_summary
from schemas.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)


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
    services.fences.check(customer_id)  # confirmed erasure since: the gallery mail never leaves
    outcome = dispatch(services, message_id)
    if outcome.status == "pending":  # refused before acceptance: the sweep retries it after its backoff
        log.warning("shoot %s: delivery mail not accepted yet; queued for retry", shoot_id)
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        if shoot.status != S.delivered.value:
            advance(shoot, S.delivered, detail="")
            shoot.delivered_at = utcnow()
            analytics.count(session, "shoot_delivered", shoot.delivered_at)
    return outcome.where
