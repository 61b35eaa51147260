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
from schemas.models import OutboxMessage
from schemas.privacy import PrivacyRequest


def confirmation_body(type_: str, link: str, hours: int) -> str:
    return "\n".join(
        [
            "Hello,",
            "",
            f"We received a {type_} request for the data we hold about you.",
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
