"""A shoot's identity objects across training attempts: what no row records goes, and a shoot
stopped while its model trained keeps no weights.

A training attempt writes its weights (and the reference template) under a fresh model id,
and records them with one ``identity_models`` row per shoot. An attempt that failed, or lost
to a concurrent run of the same shoot, leaves objects no row records: they are deleted here.
"""

from __future__ import annotations

import logging

from headpix.services import Services
from headpix.shoots import S, ShootStopped, load_shoot
from headpix.storage import Keys
from schemas.models import IdentityModel

log = logging.getLogger(__name__)


def drop_strays(services: Services, customer_id: str, shoot_id: str, *, keep: str) -> None:
    """Once a model is recorded (``keep``), identity objects no row records go (an attempt that
    wrote them, then failed); no other trainer can record after this: one row per shoot."""
    keys = services.store.list(Keys.shoot(customer_id, shoot_id) + "identity/")
    drop(services, shoot_id, [k for k in keys if k.rsplit("/", 1)[-1].split(".", 1)[0] != keep])


def recorded(services: Services, model_id: str) -> bool:
    """Whether the model's row exists; when the database cannot say, assume it does (keep)."""
    try:
        with services.db.session() as session:
            return session.get(IdentityModel, model_id) is not None
    except Exception:
        return True


def drop(services: Services, shoot_id: str, keys: list[str]) -> None:
    for key in keys:
        try:
            removed = services.store.delete(key)
        except Exception as error:  # best effort: the sweep's leftover scan is the net
            log.warning("shoot %s: unrecorded identity object kept (%s)", shoot_id, type(error).__name__)
            continue
        if removed:
            log.info("shoot %s: %d versions of an unrecorded identity object removed", shoot_id, removed)


def stop_if_ended(services: Services, shoot_id: str, weights_key: str) -> None:
    """A shoot cancelled (or failed) while its model trained keeps no model: the weights go."""
    with services.db.session() as session:
        status = load_shoot(session, shoot_id).status
    if status in (S.cancelled.value, S.failed.value):
        services.raw_store.delete(weights_key)
        raise ShootStopped(f"shoot {shoot_id} is {status}; its trained weights were deleted")
