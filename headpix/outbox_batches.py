"""Sending queued messages in batches: a list of ids, a dedup-key pattern, and the sweep's mail
step (refused messages whose backoff has passed, messages never tried because their process
died after queueing them); and handing crashed sends to operators, never resending them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update

from headpix.outbox import ORPHAN_GRACE, SENDING_TIMEOUT, dispatch
from headpix.services import Services
from schemas.models import OutboxMessage, utcnow


def dispatch_pending(services: Services, message_ids: list[str], *, now: datetime | None = None) -> int:
    """Send queued messages, each once even with several dispatchers at work; return how many left."""
    flag_stuck(services, now=now or utcnow())
    return sum(dispatch(services, message_id, now=now).status == "sent" for message_id in message_ids)


def dispatch_like(services: Services, dedup_pattern: str) -> int:
    """Send the pending messages whose dedup key matches a LIKE pattern."""
    with services.db.session() as session:
        ids = list(
            session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.dedup_key.like(dedup_pattern), OutboxMessage.status == "pending"
                )
            )
        )
    return dispatch_pending(services, ids)


def dispatch_due(services: Services, now: datetime) -> int:
    """The sweep's retry of messages a provider refused earlier, once their backoff has passed,
    and of messages never tried because their process died right after queueing them."""
    retry = and_(OutboxMessage.attempts > 0, OutboxMessage.next_attempt_at <= now)
    orphan = and_(OutboxMessage.attempts == 0, OutboxMessage.created_at < now - ORPHAN_GRACE)
    with services.db.session() as session:
        ids = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.status == "pending", or_(retry, orphan))
                .order_by(OutboxMessage.created_at)
                .limit(500)
            )
        )
    return dispatch_pending(services, ids, now=now)


def flag_stuck(services: Services, *, now: datetime) -> int:
    """Rows left ``sending`` past the timeout (a crash mid-send) go to operators, never resent."""
    with services.db.session() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - SENDING_TIMEOUT)
            .values(status="needs_attention", last_error="crashed while sending: fate unknown")
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
