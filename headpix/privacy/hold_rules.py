"""Which legal holds are in force and what they keep: read by erasure, the sweep and holds alike."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from headpix.inventory import CATEGORIES
from schemas.privacy import LegalHold


def active_holds(session: Session, customer_id: str, now: datetime) -> list[LegalHold]:
    """Holds in force for a customer at ``now`` (placed, not released; a passed review date still holds)."""
    return list(
        session.scalars(
            select(LegalHold).where(
                LegalHold.customer_id == customer_id,
                LegalHold.placed_at <= now,
                LegalHold.released_at.is_(None),
            )
        )
    )


def held_categories(holds: Iterable[LegalHold]) -> set[str]:
    """Inventory categories kept by these holds; a hold with an empty scope keeps everything."""
    held: set[str] = set()
    for hold in holds:
        held |= set(hold.scope) if hold.scope else set(CATEGORIES)
    return held
