"""Mail providers: they only know how to send one message (the outbox is ``headpix.outbox``).

A provider either accepts a message (and returns where it went), refuses it before accepting
(``ProviderRefused``: retryable or not), or cannot say (``DeliveryUncertain``: a timeout
after the request went out). Errors carry status codes, never addresses or text.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol


class ProviderRefused(Exception):
    """The provider did not accept the message; ``retryable`` for 5xx, 429 and connection errors."""

    def __init__(
        self, message: str, *, status: int | None, retryable: bool, retry_after_s: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s  # the provider's own Retry-After (429), when it gave one


def retry_after(headers: object) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds form; an HTTP date counts as unknown)."""
    getter = getattr(headers, "get", None)
    value = getter("Retry-After") if getter else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


class DeliveryUncertain(Exception):
    """The request went out but no answer came back: the message may or may not have been sent."""


@dataclass(frozen=True)
class OutgoingMail:
    message_id: str  # the outbox row id; providers use it to make a resend harmless
    sender: str
    to: str
    subject: str
    body: str = field(repr=False)
    # Extra headers (marketing mail: List-Unsubscribe and List-Unsubscribe-Post, RFC 8058).
    headers: dict[str, str] = field(default_factory=dict, repr=False)


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
        for name, value in mail.headers.items():
            message[name] = value
        message.set_content(mail.body)
        path = self.folder / f"{mail.message_id}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(message))
        tmp.replace(path)  # same name on a resend: a crash between send and commit sends once
        return str(path)


class SendGridProvider:
    """SendGrid through the official client; ``host`` may point at a local endpoint."""

    def __init__(self, api_key: str, host: str, *, timeout_s: float = 20.0):
        from sendgrid import SendGridAPIClient

        self.client = SendGridAPIClient(api_key=api_key, host=host)
        # The official client waits for ever by default: a hung provider would hang the stage.
        self.client.client.timeout = timeout_s

    def send(self, mail: OutgoingMail) -> str:
        from python_http_client.exceptions import HTTPError
        from sendgrid.helpers.mail import CustomArg, Header, Mail

        message = Mail(
            from_email=mail.sender,
            to_emails=mail.to,
            subject=mail.subject,
            plain_text_content=mail.body,
        )
        message.custom_arg = CustomArg("outbox_id", mail.message_id)
        for name, value in mail.headers.items():
            message.header = Header(name, value)
        try:
            response = self.client.send(message)
        except HTTPError as error:
            status = int(getattr(error, "status_code", 0) or 0)
            raise ProviderRefused(
                f"SendGrid answered {status}",
                status=status,
                retryable=status == 429 or status >= 500,
                retry_after_s=retry_after(getattr(error, "headers", None)),
            ) from None
        except (TimeoutError, http.client.RemoteDisconnected, ConnectionResetError):
            # The request went out and no answer came back: accepted or not, nobody can say.
            raise DeliveryUncertain(
                "SendGrid did not answer in time; the message may have been sent"
            ) from None
        except OSError as error:  # refused or unreachable: nothing was accepted
            raise ProviderRefused(
                f"SendGrid unreachable ({type(error).__name__})", status=None, retryable=True
            ) from None
        if response.status_code >= 300:
            status = response.status_code
            raise ProviderRefused(
                f"SendGrid answered {status}", status=status, retryable=status == 429 or status >= 500
            )
        headers = response.headers or {}
        return str(headers.get("X-Message-Id") or mail.message_id)
