"""Deleting a shoot's originals and crops, every version, verified: after training, or at its end.

A restriction means keep, don't process: the purge beside generation leaves a restricted (or
paused) shoot's files as they are; a shoot that ends for good purges regardless.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from headpix.services import Services
from headpix.shoots import S, load_shoot
from headpix.storage import Keys
from schemas.models import OriginalPhoto, utcnow

log = logging.getLogger(__name__)


def purge_originals(services: Services, shoot_id: str) -> int:
    """Delete every version of the shoot's originals and crops, then verify none is left."""
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        customer_id = shoot.customer_id
    removed = 0
    for prefix in ("originals/", "crops/"):
        removed += services.raw_store.delete_prefix(Keys.shoot(customer_id, shoot_id) + prefix)
        left = services.raw_store.version_count(Keys.shoot(customer_id, shoot_id) + prefix)
        if left:
            raise RuntimeError(f"shoot {shoot_id}: {left} object versions left under {prefix}")
    with services.db.session() as session:
        now = utcnow()
        for photo in session.scalars(select(OriginalPhoto).where(OriginalPhoto.shoot_id == shoot_id)):
            photo.original_key = None
            photo.crop_key = None
            photo.purged_at = photo.purged_at or now
    log.info("shoot %s: %d original/crop object versions purged", shoot_id, removed)
    return removed


def purge_after_training(services: Services, shoot_id: str) -> int:
    """The purge beside generation: a restricted (or paused) shoot keeps its files unprocessed."""
    from headpix.privacy.restriction import is_restricted

    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        if shoot.status == S.paused.value or is_restricted(session, shoot.customer_id):
            log.info("shoot %s: restricted; originals kept, not processed", shoot_id)
            return 0
    return purge_originals(services, shoot_id)
