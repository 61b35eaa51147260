"""Anonymous usage analytics: an event name and a count per hour; never a customer or a shoot."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.models import new_id
from schemas.privacy import UsageEvent

EVENTS = ("shoot_started", "shoot_delivered", "shoot_failed", "request_received", "signup")
PAGE_VIEW = "page_view:"  # + the route's path template ("/shoots/{shoot_id}"), never a concrete URL


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def count(session: Session, event: str, at: datetime, by: int = 1) -> None:
    """Add ``by`` to the event's count for the hour of ``at`` (in the caller's transaction)."""
    if event not in EVENTS and not (event.startswith(PAGE_VIEW) and len(event) <= 60):
        raise ValueError(f"unknown usage event {event!r}; known: {', '.join(EVENTS)}")
    hour = hour_of(at)
    dialect = session.get_bind().dialect.name
    # One statement, so two processes counting the same hour never collide on the unique key.
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(UsageEvent).values(id=new_id(), hour=hour, event=event, count=by)
        session.execute(
            pg.on_conflict_do_update(index_elements=["hour", "event"], set_={"count": UsageEvent.count + by})
        )
        return
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(UsageEvent).values(id=new_id(), hour=hour, event=event, count=by)
        session.execute(
            lite.on_conflict_do_update(
                index_elements=["hour", "event"], set_={"count": UsageEvent.count + by}
            )
        )
        return
    row = session.scalar(select(UsageEvent).where(UsageEvent.hour == hour, UsageEvent.event == event))
    if row is None:
        session.add(UsageEvent(hour=hour, event=event, count=by))
    else:
        row.count += by
