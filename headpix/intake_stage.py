"""The validate stage: run the intake checks on a shoot's stored originals and record verdicts."""

from __future__ import annotations

import logging

from headpix import personal
from headpix.intake import IntakeRules, PhotoInput, check_photos, scanner_from_settings
from headpix.services import Services
from headpix.shoots import FINAL, S, ShootStopped, enter_stage, load_shoot
from headpix.storage import Keys

log = logging.getLogger(__name__)


def validate_shoot(services: Services, shoot_id: str) -> tuple[int, int, bool]:
    """Record verdicts and store crops of accepted photos; return (accepted, rejected, set_ok)."""
    settings = services.settings
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        if S(shoot.status) in FINAL | {S.paused} and shoot.status != S.delivered.value:
            raise ShootStopped(f"shoot {shoot_id} is {shoot.status}; not processing")
        if shoot.status not in (S.received.value, S.validating.value):
            accepted = sum(p.verdict == "accepted" for p in shoot.photos)
            return accepted, len(shoot.photos) - accepted, True
        enter_stage(shoot, S.validating)
        photos = list(shoot.photos)
        customer_id = shoot.customer_id
        inputs = [
            PhotoInput(
                file=personal.filename_of(services.keys, customer_id, p),
                data=services.store.get(p.original_key) if p.original_key else None,
                size=p.size_bytes,
            )
            for p in photos
        ]
    rules = IntakeRules.from_settings(settings)
    report = check_photos(inputs, rules, scanner=scanner_from_settings(settings))
    accepted = 0
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        for photo, verdict in zip(shoot.photos, report.photos, strict=True):
            photo.reasons = list(verdict.reasons)
            photo.width, photo.height = verdict.width, verdict.height
            photo.face_box = list(verdict.face_box) if verdict.face_box else None
            if verdict.accepted and verdict.crop is not None:
                key = Keys.crop(customer_id, shoot_id, photo.id)
                services.store.put(key, verdict.crop)
                photo.crop_key = key
                photo.verdict = "accepted"
                accepted += 1
            else:
                photo.verdict = "rejected"
        set_ok = not ({"too_few_photos", "too_many_photos"} & set(report.reasons))
        if not set_ok:
            shoot.status_detail = set_summary(report.reasons, accepted, len(photos), rules)
    log.info("shoot %s: %d photos accepted, %d rejected", shoot_id, accepted, len(photos) - accepted)
    return accepted, len(photos) - accepted, set_ok


def set_summary(reasons: list[str], accepted: int, total: int, rules: IntakeRules) -> str:
    """Why the whole set was refused, in the customer's words."""
    if "too_many_photos" in reasons:
        return f"too_many_photos: {total} photos sent; at most {rules.max_photos} are accepted."
    return (
        f"too_few_photos: only {accepted} of {total} photos can be used; "
        f"at least {rules.min_photos} clear photos of one face are needed."
    )
