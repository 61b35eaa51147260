"""Shared pieces of the sweep's categories: batching, hold checks, incidents, failure text."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from headpix.privacy.hold_rules import active_holds, held_categories
from headpix.services import Services
from schemas.privacy import RetentionIncident

log = logging.getLogger(__name__)


BATCH = 200
POLICY_ERASURE_DAYS = 14  # privacy policy §4: deleted within 14 days of confirmation
ERASURE_DUE = ("confirmed", "in_progress", "needs_attention")


def describe_failure(error: BaseException) -> str:
    """A failed category as operators see it: our own message, or only the error's type."""
    from headpix.errors import HeadpixError

    return error.message if isinstance(error, HeadpixError) else type(error).__name__


def is_postgres(services: Services) -> bool:
    return services.db.engine.dialect.name == "postgresql"


def is_held(session: Session, customer_id: str, now: datetime, category: str) -> bool:
    return category in held_categories(active_holds(session, customer_id, now))


def record_incident(session: Session, now: datetime, category: str, shoot_id: str, count: int) -> None:
    session.add(RetentionIncident(found_at=now, category=category, shoot_id=shoot_id, object_count=count))
    log.warning("retention: shoot %s had %d %s object versions past their age", shoot_id, count, category)


def in_batches(
    services: Services, select_batch: Callable[[Session], list[Any]], act: Callable[[Session, Any], object]
) -> int:
    """Lock a batch of due rows (skipping rows another sweep holds), act on each, commit; repeat."""
    done = 0
    while True:
        with services.db.session() as session:
            rows = select_batch(session)
            for row in rows:
                outcome = act(session, row)
                # An act may report what it changed (a guarded UPDATE's rowcount): count that.
                done += int(outcome) if isinstance(outcome, bool | int) else 1
        if len(rows) < BATCH:
            return done
