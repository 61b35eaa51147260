"""Rows past their time: unconfirmed requests, expired links and tokens, bodies of sent mail."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from headpix.privacy.requests import expire
from headpix.retention.common import BATCH, in_batches
from headpix.services import Services
from schemas.models import (
    GalleryLink,
    OutboxMessage,
)
from schemas.privacy import PrivacyRequest, SignInToken

log = logging.getLogger(__name__)


# -- exports, unconfirmed requests, expired links, sent mail ------------------------------------------


def delete_expired_exports(services: Services, now: datetime) -> int:
    """Access and portability archives past their expiry (the export module does the deleting)."""
    from headpix.privacy.export import delete_expired_exports as delete_exports

    return delete_exports(services, now)


def expire_unconfirmed_requests(services: Services, now: datetime) -> int:
    """Requests whose confirmation token expired: the token goes, the request is cancelled."""
    query = (
        select(PrivacyRequest)
        .where(PrivacyRequest.status == "awaiting_confirmation", PrivacyRequest.token_expires_at < now)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    return in_batches(services, lambda s: list(s.scalars(query)), lambda s, r: expire(s, r))


def delete_expired_links(services: Services, now: datetime) -> int:
    """Gallery links and sign-in tokens past their expiry (their hashes are no use to anyone)."""
    deleted = 0
    for table in (GalleryLink, SignInToken):
        query = select(table.id).where(table.expires_at < now).limit(BATCH).with_for_update(skip_locked=True)
        deleted += in_batches(
            services,
            lambda s, q=query: list(s.scalars(q)),  # type: ignore[misc]
            lambda s, row_id, t=table: s.execute(delete(t).where(t.id == row_id)),  # type: ignore[misc]
        )
    return deleted


def delete_sent_mail_bodies(services: Services, now: datetime) -> int:
    """Once mail has left for the provider, our copy of its body and address goes."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_(("sent", "suppressed")), OutboxMessage.content_sealed.is_not(None))
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )

    def act(session: Session, row: OutboxMessage) -> int:
        # Guarded: a row another sweep already cleared is not counted twice.
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.content_sealed.is_not(None))
            .values(content_sealed=None, recipient_sealed=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    return in_batches(services, lambda s: list(s.scalars(query)), act)
