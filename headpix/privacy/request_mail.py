"""Mail about privacy requests: the confirmation, notices, and sending them at once.

Every such message carries the request's id (``request_id`` on the outbox row, and the dedup
key ends with it), which is what makes it request-related mail: it is sent even while
processing is restricted. No message tells the customer to run a command: links go to
pages under ``HEADPIX_PUBLIC_URL`` (``headpix.links``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from headpix.outbox import enqueue
from headpix.outbox_batches import dispatch_pending
from headpix.privacy.crypto import KeyRing
from headpix.services import Services
from schemas.models import OutboxMessage, Photoshoot
from schemas.privacy import PrivacyRequest

SCOPE_WORDS = {
    "headshots": "your headshots",
    "identity_models": "the models learned from your photos",
    "preferences": "your style preferences",
    "marketing": "what we hold for marketing",
}


def shoot_words(session: Session, shoot_id: str) -> str:
    """A shoot as its customer knows it: its date and a short reference, nothing else."""
    shoot = session.get(Photoshoot, shoot_id)
    when = f" of {shoot.created_at:%d %b %Y}" if shoot is not None and shoot.created_at else ""
    return f"your photoshoot{when} (reference {shoot_id[:8]})"


def scope_words(session: Session, scope: str | None) -> str | None:
    """What a scoped erasure deletes, in words; None for a whole-account erasure."""
    if not scope:
        return None
    if scope.startswith("shoot:"):
        return shoot_words(session, scope.split(":", 1)[1])
    return SCOPE_WORDS.get(scope, "part of the data we hold about you")


def confirmation_subject(type_: str, what: str | None = None) -> str:
    return f"Confirm deleting {what}" if what else f"Confirm your {type_} request"


def confirmation_body(type_: str, link: str, hours: int, what: str | None = None) -> str:
    """``what`` names the part a scoped erasure deletes (one shoot); the rest stays."""
    asked = (
        [f"We received a request to delete {what}.", "The rest of your account stays as it is."]
        if what
        else [f"We received a {type_} request for the data we hold about you."]
    )
    return "\n".join(
        [
            "Hello,",
            "",
            *asked,
            "If you made it, confirm it on this page:",
            "",
            f"  {link}",
            "",
            f"The link works once and expires in {hours} hours. If you did not ask, ignore this",
            "message and nothing will happen.",
            "— Headpix",
        ]
    )


def letter(*lines: str) -> str:
    """The body of a request-related email: greeting, the lines, signature."""
    return "\n".join(["Hello,", "", *lines, "", "— Headpix"])


def notify(
    session: Session,
    keys: KeyRing,
    request: PrivacyRequest,
    *,
    kind: str,
    to: str,
    subject: str,
    lines: list[str],
    tag: str | None = None,
) -> None:
    """Queue mail about a request (sealed under the customer's key; its link, if any, is minted
    when it is sent)."""
    enqueue(
        session,
        keys,
        dedup_key=f"{tag or kind}:{request.id}",
        kind=kind,
        customer_id=request.customer_id,
        request_id=request.id,
        ref_id=request.id,
        to=to,
        subject=subject,
        body=letter(*lines, f"Request: {request.id}"),
    )


def dispatch_request_mail(services: Services, request_id: str) -> int:
    """Hand this request's pending mail to the provider now (confirmation, notices)."""
    with services.db.session() as session:
        ids = list(
            session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.dedup_key.like(f"%:{request_id}"), OutboxMessage.status == "pending"
                )
            )
        )
    return dispatch_pending(services, ids)


def queue_request_notice(
    session: Session,
    services: Services,
    *,
    request_id: str,
    dedup_key: str,
    kind: str,
    to: str,
    subject: str,
    body: str,
) -> str:
    """Queue a notice about a request whose customer is gone (an erasure's last mail) in the
    caller's transaction, sealed under the request's own key: it survives a retry, and the outbox
    deletes its row and that key once the provider has it. Returns the outbox id."""
    row = enqueue(
        session,
        services.keys,
        dedup_key=dedup_key,
        kind=kind,
        customer_id=None,
        request_id=request_id,
        to=to,
        subject=subject,
        body=body,
    )
    return row.id
