"""The upload draft area: accepted photos wait here, sealed, until the customer starts the shoot.

Objects live under the customer's prefix (``customers/<id>/drafts/<photo id>``), sealed with
their data key like every other object of theirs, so erasure and key destruction cover them.
Refused photos are never written. Drafts older than ``draft_hours`` are swept.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from headpix import personal
from headpix.services import Services
from headpix.storage import Keys
from schemas.web import DraftPhoto


def draft_key(customer_id: str, photo_id: str) -> str:
    return f"{Keys.customer(customer_id)}drafts/{photo_id}"


def list_drafts(services: Services, customer_id: str) -> list[DraftPhoto]:
    with services.db.session() as session:
        rows = list(
            session.scalars(
                select(DraftPhoto)
                .where(DraftPhoto.customer_id == customer_id)
                .order_by(DraftPhoto.created_at)
            )
        )
        session.expunge_all()
        return rows


def add_photo(
    services: Services, *, customer_id: str, filename: str, data: bytes, sha256: str, phash: str
) -> str:
    """Seal and store one accepted photo; return its draft id."""
    with services.db.session() as session:
        row = DraftPhoto(
            customer_id=customer_id,
            filename_sealed=personal.seal_draft_filename(services.keys, customer_id, filename[-255:]),
            sha256=sha256,
            size_bytes=len(data),
            phash=phash,
            key="",
        )
        session.add(row)
        session.flush()
        row.key = draft_key(customer_id, row.id)
        services.store.put(row.key, data)
        return row.id


def remove_photo(services: Services, *, customer_id: str, photo_id: str) -> bool:
    """Delete one draft photo (every version); False when it is not this customer's."""
    with services.db.session() as session:
        row = session.get(DraftPhoto, photo_id)
        if row is None or row.customer_id != customer_id:
            return False
        services.raw_store.delete(row.key)
        session.delete(row)
        return True


def load_photos(services: Services, customer_id: str) -> list[tuple[str, bytes]]:
    """The draft photos' names and bytes, oldest first (in memory, for the shoot's intake)."""
    return [
        (filename_of(services, row), services.store.get(row.key))
        for row in list_drafts(services, customer_id)
    ]


def filename_of(services: Services, row: DraftPhoto) -> str:
    """The photo's file name as the customer uploaded it (sealed under their data key)."""
    return personal.draft_filename_of(services.keys, row.customer_id, row.filename_sealed)


def clear(services: Services, *, customer_id: str) -> int:
    """Delete every draft of a customer (the shoot started, or they gave up)."""
    removed = 0
    for row in list_drafts(services, customer_id):
        removed += int(remove_photo(services, customer_id=customer_id, photo_id=row.id))
    return removed


def sweep_drafts(services: Services, now: datetime) -> int:
    """Sweep category: drafts older than ``draft_hours`` go, objects (every version) and rows."""
    cutoff = now - timedelta(hours=services.settings.draft_hours)
    with services.db.session() as session:
        query = select(DraftPhoto).where(DraftPhoto.created_at < cutoff)
        stale = [(row.customer_id, row.id) for row in session.scalars(query)]
    return sum(int(remove_photo(services, customer_id=c, photo_id=p)) for c, p in stale)
