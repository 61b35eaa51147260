"""Mail: a transactional outbox (our table) and the providers it hands messages to.

A message is written to the outbox in the same transaction as the state change that
causes it, keyed by a dedup key, so re-running a flow never queues it twice. The
dispatcher hands pending rows to the provider (a folder of .eml files or SendGrid) and
marks them sent; once sent, the mail has left our stores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.models import OutboxMessage, utcnow

if TYPE_CHECKING:
    from headpix.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMail:
    message_id: str  # the outbox row id; providers use it to make a resend harmless
    sender: str
    to: str
    subject: str
    body: str


class MailProvider(Protocol):
    def send(self, mail: OutgoingMail) -> str:
        """Hand one message over; return where it went (file path or provider message id)."""
        ...


class EmlFolderProvider:
    """Embedded default: each message becomes ``<folder>/<outbox id>.eml``."""

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, mail: OutgoingMail) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        message = EmailMessage()
        message["From"] = mail.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(idstring=mail.message_id, domain="headpix.local")
        message.set_content(mail.body)
        path = self.folder / f"{mail.message_id}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(message))
        tmp.replace(path)  # same name on a resend: a crash between send and commit sends once
        return str(path)


class SendGridProvider:
    """SendGrid through the official client; ``host`` may point at a local endpoint."""

    def __init__(self, api_key: str, host: str):
        from sendgrid import SendGridAPIClient

        self.client = SendGridAPIClient(api_key=api_key, host=host)

    def send(self, mail: OutgoingMail) -> str:
        from sendgrid.helpers.mail import CustomArg, Mail

        message = Mail(
            from_email=mail.sender,
            to_emails=mail.to,
            subject=mail.subject,
            plain_text_content=mail.body,
        )
        message.custom_arg = CustomArg("outbox_id", mail.message_id)
        response = self.client.send(message)
        if response.status_code >= 300:
            raise RuntimeError(f"SendGrid answered {response.status_code}")
        headers = response.headers or {}
        return str(headers.get("X-Message-Id") or mail.message_id)


def enqueue(
    session: Session,
    *,
    dedup_key: str,
    kind: str,
    customer_id: str | None,
    to: str,
    subject: str,
    body: str,
    category: str = "transactional",
) -> OutboxMessage:
    """Queue a message once per dedup key (idempotent within the caller's transaction)."""
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key))
    if existing is not None:
        return existing
    row = OutboxMessage(
        dedup_key=dedup_key,
        kind=kind,
        category=category,
        customer_id=customer_id,
        to_address=to,
        subject=subject,
        body=body,
    )
    session.add(row)
    session.flush()
    return row


def dispatch_one(session: Session, row: OutboxMessage, services: Services) -> str:
    """Hand one pending row to the mail provider and mark it sent (in the caller's transaction).

    The send-time checks live here, so no path can skip them: a restricted customer gets only
    request-related mail, and marketing to a suppressed address is dropped.
    """
    if row.status != "pending":
        return row.provider_message_id or ""
    assert row.to_address is not None and row.subject is not None and row.body is not None
    from headpix.privacy.objection import suppressed_at_send
    from headpix.privacy.restriction import may_send

    if not may_send(session, row):
        row.status = "held"  # released to pending when the restriction is lifted
        log.info("outbox message %s (%s) held: processing restricted", row.id, row.kind)
        return ""
    if row.category == "marketing" and suppressed_at_send(session, row, services.keys):
        row.status = "suppressed"
        log.info("outbox message %s (%s) suppressed: objection to marketing", row.id, row.kind)
        return ""
    row.attempts += 1
    sender = services.settings.mail_sender
    where = services.mail.send(OutgoingMail(row.id, sender, row.to_address, row.subject, row.body))
    row.status = "sent"
    row.provider_message_id = where
    row.sent_at = utcnow()
    log.info("outbox message %s (%s) sent", row.id, row.kind)
    return where
