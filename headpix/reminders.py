"""A reminder mail a few days before a gallery's headshots expire (a sweep category)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from headpix import links, personal
from headpix.outbox import dispatch, enqueue
from headpix.services import Services
from schemas.models import Customer, Photoshoot


def reminder_body(name: str, url: str, expires_at: datetime) -> str:
    return "\n".join(
        [
            f"Hello {name},",
            "",
            f"Your headshots will be deleted on {expires_at:%Y-%m-%d} as our privacy policy promises.",
            "Download the ones you want to keep before then (sign in, or use the gallery link we sent):",
            url,
            "",
            "— Headpix",
        ]
    )


def remind_expiring_galleries(services: Services, now: datetime) -> int:
    """Queue and send one reminder per delivered shoot whose headshots expire within the window."""
    settings = services.settings
    retention = timedelta(days=settings.headshot_retention_days)
    window = timedelta(days=settings.gallery_reminder_days)
    queued: list[str] = []
    keys = services.keys
    with services.db.session() as session:
        shoots = session.scalars(
            select(Photoshoot).where(
                Photoshoot.status == "delivered",
                Photoshoot.delivered_at.is_not(None),
                Photoshoot.delivered_at <= now - retention + window,
                Photoshoot.delivered_at > now - retention,
            )
        ).all()
        for shoot in shoots:
            customer = session.get(Customer, shoot.customer_id)
            if customer is None or shoot.delivered_at is None:
                continue
            row = enqueue(
                session,
                keys,
                dedup_key=f"gallery_reminder:{shoot.id}",
                kind="gallery_reminder",
                customer_id=customer.id,
                to=personal.email_of(keys, customer),
                subject="Your headshots will be deleted soon",
                body=reminder_body(
                    personal.name_of(keys, customer),
                    links.shoot_url(settings, shoot.id) + "/gallery",
                    shoot.delivered_at + retention,
                ),
            )
            if row.status == "pending":
                queued.append(row.id)
    for message_id in queued:  # claim-then-send, each in its own transactions
        dispatch(services, message_id)
    return len(queued)
