"""Objects past their time: leftover originals and crops, expired headshots, identity models, exports."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, or_, select

from headpix.retention.common import is_held, record_incident
from headpix.services import Services
from headpix.storage import Keys
from schemas.models import (
    GalleryLink,
    Headshot,
    IdentityModel,
    OriginalPhoto,
    Photoshoot,
)

log = logging.getLogger(__name__)


# -- originals and crops: the safety net behind the photoshoot's own purge --------------------------


def purge_leftover_originals(services: Services, now: datetime) -> int:
    """Delete originals and crops past the age limit (paused shoots keep theirs); report each shoot."""
    cutoff = now - timedelta(hours=services.settings.originals_max_age_hours)
    still_stored = or_(OriginalPhoto.original_key.is_not(None), OriginalPhoto.crop_key.is_not(None))
    with services.db.session() as session:
        shoot_ids = list(
            session.scalars(
                select(OriginalPhoto.shoot_id)
                .join(Photoshoot, Photoshoot.id == OriginalPhoto.shoot_id)
                .where(still_stored, OriginalPhoto.uploaded_at < cutoff, Photoshoot.status != "paused")
                .distinct()
            )
        )
    removed = 0
    for shoot_id in shoot_ids:
        with services.db.session() as session:
            photos = list(
                session.scalars(
                    select(OriginalPhoto)
                    .where(OriginalPhoto.shoot_id == shoot_id, still_stored)
                    .where(OriginalPhoto.uploaded_at < cutoff)
                    .with_for_update(skip_locked=True)
                )
            )
            shoot = session.get(Photoshoot, shoot_id)
            if not photos or shoot is None or shoot.status == "paused":
                continue
            if is_held(session, shoot.customer_id, now, "photos"):
                continue
            for kind in ("originals", "crops"):
                prefix = Keys.shoot(shoot.customer_id, shoot_id) + f"{kind}/"
                count = services.raw_store.delete_prefix(prefix)
                left = services.raw_store.version_count(prefix)
                if left:
                    raise RuntimeError(f"shoot {shoot_id}: {left} object versions left under {kind}/")
                if count:
                    record_incident(session, now, kind, shoot_id, count)
                removed += count
            for photo in photos:
                photo.original_key = None
                photo.crop_key = None
                photo.purged_at = photo.purged_at or now
    return removed


# -- deliveries: headshots and identity models expire after delivery ---------------------------------


def _delivered_before(days: float, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (Photoshoot.status == "delivered", Photoshoot.delivered_at < now - timedelta(days=days))


def expire_headshots(services: Services, now: datetime) -> int:
    """Delete the headshots (and gallery links) of shoots delivered longer ago than the retention."""
    due_filter = _delivered_before(services.settings.headshot_retention_days, now)
    has_headshots = exists().where(Headshot.shoot_id == Photoshoot.id)
    with services.db.session() as session:
        shoot_ids = list(session.scalars(select(Photoshoot.id).where(*due_filter, has_headshots)))
    expired = 0
    for shoot_id in shoot_ids:
        with services.db.session() as session:
            shoot = session.scalar(
                select(Photoshoot)
                .where(Photoshoot.id == shoot_id, *due_filter, has_headshots)
                .with_for_update(skip_locked=True)
            )
            if shoot is None or is_held(session, shoot.customer_id, now, "headshots"):
                continue
            prefix = Keys.shoot(shoot.customer_id, shoot_id) + "headshots/"
            services.raw_store.delete_prefix(prefix)
            if services.raw_store.version_count(prefix):
                raise RuntimeError(f"shoot {shoot_id}: headshot object versions left after expiry")
            result = session.execute(delete(Headshot).where(Headshot.shoot_id == shoot_id))
            session.execute(delete(GalleryLink).where(GalleryLink.shoot_id == shoot_id))
            expired += int(getattr(result, "rowcount", 0) or 0)
    return expired


def expire_identity_models(services: Services, now: datetime) -> int:
    """Delete identity models (weights and row) of shoots delivered longer ago than the retention."""
    due_filter = _delivered_before(services.settings.identity_model_retention_days, now)
    with services.db.session() as session:
        model_ids = list(
            session.scalars(
                select(IdentityModel.id)
                .join(Photoshoot, Photoshoot.id == IdentityModel.shoot_id)
                .where(*due_filter)
            )
        )
    expired = 0
    for model_id in model_ids:
        with services.db.session() as session:
            model = session.scalar(
                select(IdentityModel).where(IdentityModel.id == model_id).with_for_update(skip_locked=True)
            )
            shoot = session.get(Photoshoot, model.shoot_id) if model is not None else None
            if model is None or shoot is None or is_held(session, shoot.customer_id, now, "identity_models"):
                continue
            prefix = Keys.shoot(shoot.customer_id, shoot.id) + "identity/"
            services.raw_store.delete_prefix(prefix)
            if services.raw_store.version_count(prefix):
                raise RuntimeError(f"shoot {shoot.id}: identity model versions left after expiry")
            session.delete(model)
            expired += 1
    return expired
