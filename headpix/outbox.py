"""The transactional outbox: queue with the state change, claim, send, record.

A message is written in the same transaction as the state change that causes it, keyed by a
dedup key, so re-running a flow never queues it twice. Its recipient and content are sealed
(``headpix.sealed_columns``); a link's token is minted when it is sent (``headpix.links``).

Sending is claim-then-send: the row goes ``pending`` → ``sending`` in a transaction of its own
(``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, a guarded ``UPDATE … WHERE status =
'pending'`` everywhere), only then is the provider called, and its message id is recorded
with ``sent``. SendGrid has no idempotency key, so a crash between the provider's acceptance
and the record leaves the row ``sending``: after ``SENDING_TIMEOUT`` it becomes
``needs_attention`` for an operator (``headpix mail resend``), never resent by itself.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from headpix import safeguards
from headpix.errors import CommandError, NotFound
from headpix.links import LINK, list_unsubscribe_headers, mint_link
from headpix.mail import DeliveryUncertain, OutgoingMail, ProviderRefused
from headpix.privacy.crypto import KeyRing
from headpix.sealed_columns import Owner, customer, open_with, request, seal_with
from headpix.services import Services
from schemas.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

SENDING_TIMEOUT = timedelta(minutes=15)
ORPHAN_GRACE = timedelta(minutes=10)  # queued, never tried: its process died before dispatching
MAX_ATTEMPTS = 5
BACKOFF = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


@dataclass(frozen=True)
class Dispatched:
    status: str  # the row's status afterwards (or "gone")
    where: str = ""  # file path or provider message id, once sent


def owner_of(row: OutboxMessage) -> Owner:
    """A message is sealed under its customer's key, or its request's key when it has no customer."""
    if row.customer_id:
        return customer(row.customer_id)
    if row.request_id:
        return request(row.request_id)
    raise ValueError(f"outbox message {row.id} has neither a customer nor a request to seal it for")


def enqueue(
    session: Session,
    keys: KeyRing,
    *,
    dedup_key: str,
    kind: str,
    customer_id: str | None,
    to: str,
    subject: str,
    body: str,
    category: str = "transactional",
    request_id: str | None = None,
    ref_id: str | None = None,
) -> OutboxMessage:
    """Queue a message once per dedup key. ``body`` may hold ``links.LINK``: the link of the
    message's kind for ``ref_id`` is minted there when it is sent."""
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key))
    if existing is not None:
        return existing
    row = OutboxMessage(
        dedup_key=dedup_key,
        kind=kind,
        category=category,
        customer_id=customer_id,
        request_id=request_id,
        ref_id=ref_id,
    )
    owner = owner_of(row)
    key = owner.key(keys, create=True)
    row.recipient_sealed = seal_with(key, owner, "outbox.recipient", to)
    content = json.dumps({"subject": subject, "body": body}, ensure_ascii=False, sort_keys=True)
    row.content_sealed = seal_with(key, owner, "outbox.content", content)
    try:
        with session.begin_nested():  # a concurrent run queued it first: take theirs
            session.add(row)
            session.flush()
    except IntegrityError:
        found = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key))
        assert found is not None
        return found
    return row


def _content(keys: KeyRing, row: OutboxMessage) -> tuple[str, dict[str, Any]]:
    if row.recipient_sealed is None or row.content_sealed is None:
        raise CommandError(
            f"outbox message {row.id} has no content left (sent, or its subject was erased); "
            "nothing can be sent again",
            code="mail_gone",
        )
    owner = owner_of(row)
    key = owner.key(keys, create=False)
    return (
        open_with(key, owner, "outbox.recipient", row.recipient_sealed),
        dict(json.loads(open_with(key, owner, "outbox.content", row.content_sealed))),
    )


def _claim(services: Services, message_id: str, now: datetime) -> OutgoingMail | Dispatched:
    """Claim a pending row in its own committed transaction and render it; or say why not."""
    with services.db.session() as session:
        row = session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
            .with_for_update(skip_locked=True)
        )
        if row is None:
            current = session.get(OutboxMessage, message_id)
            if current is None:
                return Dispatched("gone")
            if current.status == "pending":  # skipped: another dispatcher holds it right now
                return Dispatched("sending")
            return Dispatched(current.status, current.provider_message_id or "")
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return Dispatched("pending")
        recipient, content = _content(services.keys, row)
        stop = safeguards.verdict(session, services.keys, row, recipient)
        status = stop or "sending"
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.status == "pending")
            .values(
                status=status,
                claimed_at=now if stop is None else None,
                attempts=OutboxMessage.attempts + (0 if stop else 1),
            )
            .execution_options(synchronize_session=False)
        )
        if not int(getattr(claimed, "rowcount", 0) or 0):
            return Dispatched("sending")  # another dispatcher claimed it first
        if stop is not None:
            log.info("outbox message %s (%s) %s at send time", row.id, row.kind, stop)
            return Dispatched(stop)
        body = str(content["body"])
        if LINK in body:
            body = body.replace(LINK, mint_link(session, services.settings, row, now))
        headers: dict[str, str] = {}
        if row.category == "marketing" and row.customer_id:
            # One-click unsubscribe, which is the objection to marketing (web: /unsubscribe/…).
            headers = list_unsubscribe_headers(services.settings, services.keys, row.customer_id)
            body += "\n\nNo more of these? Unsubscribe in one click: " + headers["List-Unsubscribe"].strip(
                "<>"
            )
        return OutgoingMail(
            row.id, services.settings.mail_sender, recipient, str(content["subject"]), body, headers
        )


def _record(services: Services, message_id: str, **values: Any) -> None:
    with services.db.session() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending")
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def backoff(attempts: int, base: timedelta = BACKOFF) -> timedelta:
    """Exponential backoff with jitter, capped."""
    delay = min(base * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
    return delay * (1 + random.random() / 2)


def dispatch(
    services: Services, message_id: str, *, now: datetime | None = None, base: timedelta = BACKOFF
) -> Dispatched:
    """Send one message at most once: claim it, hand it to the provider, record the outcome.
    A refusal puts it back ``pending`` for ``backoff(attempts, base)`` or a longer Retry-After."""
    now = now or utcnow()
    claimed = _claim(services, message_id, now)
    if isinstance(claimed, Dispatched):
        return claimed
    try:
        where = services.mail.send(claimed)
    except DeliveryUncertain as error:
        _record(services, message_id, status="needs_attention", last_error=str(error))
        log.warning("outbox message %s: fate unknown; needs an operator (headpix mail resend)", message_id)
        return Dispatched("needs_attention")
    except Exception as error:  # refused before acceptance: safe to try again, a few times
        retryable = error.retryable if isinstance(error, ProviderRefused) else True
        attempts = _attempts(services, message_id)
        reason = str(error) if isinstance(error, ProviderRefused) else type(error).__name__
        if retryable and attempts < MAX_ATTEMPTS:
            delay = backoff(attempts, base)
            asked = error.retry_after_s if isinstance(error, ProviderRefused) else None
            if asked is not None:
                delay = max(delay, min(timedelta(seconds=asked), BACKOFF_CAP))
            _record(
                services,
                message_id,
                status="pending",
                last_error=reason,
                next_attempt_at=now + delay,
            )
            log.warning("outbox message %s not accepted (%s); will retry", message_id, reason)
            return Dispatched("pending")
        _record(services, message_id, status="needs_attention", last_error=reason)
        log.warning("outbox message %s not accepted (%s); needs an operator", message_id, reason)
        return Dispatched("needs_attention")
    _record_sent(services, message_id, where)
    log.info("outbox message %s sent", message_id)
    return Dispatched("sent", where)


def _attempts(services: Services, message_id: str) -> int:
    with services.db.session() as session:
        row = session.get(OutboxMessage, message_id)
        return row.attempts if row is not None else MAX_ATTEMPTS


def _record_sent(services: Services, message_id: str, where: str) -> None:
    """Record ``sent``. A notice sealed under a request's key (no customer left) goes instead,
    row and key, in the same step: nothing of it outlives its hand-over."""
    request_id = None
    with services.db.session() as session:
        row = session.get(OutboxMessage, message_id, with_for_update=True)
        if row is not None and row.status == "sending" and row.customer_id is None and row.request_id:
            request_id = row.request_id
            session.delete(row)
        elif row is not None and row.status == "sending":
            row.status, row.provider_message_id, row.sent_at, row.last_error = "sent", where, utcnow(), None
    if request_id is not None:
        services.keys.destroy_request_key(request_id)


def resend(services: Services, message_id: str, *, now: datetime | None = None) -> Dispatched:
    """An operator's decision: send a ``needs_attention`` message again (it may arrive twice)."""
    with services.db.session() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            raise NotFound(f"no outbox message with id {message_id}; see the compliance report")
        if row.status != "needs_attention":
            raise CommandError(
                f"outbox message {message_id} is {row.status}; only needs_attention messages are resent",
                code="not_resendable",
            )
        row.status, row.next_attempt_at, row.attempts = "pending", None, 0
    return dispatch(services, message_id, now=now)
