"""A new gallery link, mailed to the customer: the way back to a gallery whose mail was lost.

The link is never shown to the operator who asks for it: it is minted when the mail is sent,
only its hash is stored, and it reaches only the address on file.
"""

from __future__ import annotations

from sqlalchemy import func, select

from headpix import links, personal
from headpix.errors import CommandError
from headpix.outbox import Dispatched, dispatch, enqueue
from headpix.services import Services
from headpix.shoots import S, load_shoot
from schemas.models import OutboxMessage


def new_link_body(name: str, days: int) -> str:
    return "\n".join(
        [
            f"Hello {name},",
            "",
            "As asked, here is a new link to your Headpix gallery:",
            links.LINK,
            f"(The link expires in {days} days.)",
            "",
            "— Headpix",
        ]
    )


def send_new_link(services: Services, shoot_id: str) -> Dispatched:
    """Queue and send a fresh gallery link for a delivered shoot."""
    keys = services.keys
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        if shoot.status != S.delivered.value:
            raise CommandError(
                f"shoot {shoot_id} is {shoot.status}; a gallery link is sent once it is delivered",
                code="not_delivered",
            )
        prefix = f"gallery-link:{shoot_id}:"
        issued = session.scalar(select(func.count()).where(OutboxMessage.dedup_key.like(prefix + "%"))) or 0
        row = enqueue(
            session,
            keys,
            dedup_key=f"{prefix}{issued + 1}",
            kind="gallery_link",
            customer_id=shoot.customer_id,
            ref_id=shoot_id,
            to=personal.email_of(keys, shoot.customer),
            subject="A new link to your Headpix gallery",
            body=new_link_body(personal.name_of(keys, shoot.customer), services.settings.gallery_link_days),
        )
        message_id = row.id
    return dispatch(services, message_id)
