"""Photoshoot domain: registering customers, receiving photos, and the status state machine."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from headpix import analytics, personal
from headpix.errors import HeadpixError, NotFound
from headpix.intake.feedback import sentence
from headpix.privacy.crypto import KeyRing
from headpix.services import Services
from headpix.storage import Keys
from schemas.api import POLICY_VERSION, CustomerSignup, HeadshotOut, ShootReport, ShootStatus
from schemas.models import Customer, GalleryLink, OriginalPhoto, OutboxMessage, Photoshoot, utcnow
from schemas.privacy import Consent

log = logging.getLogger(__name__)

S = ShootStatus
ACTIVE = {S.received, S.validating, S.training, S.generating, S.delivering}
FINAL = {S.delivered, S.failed, S.cancelled}
# Each stage may be re-entered (a crashed run resumes where it stopped).
TRANSITIONS: dict[ShootStatus, set[ShootStatus]] = {
    S.received: {S.validating},
    S.validating: {S.validating, S.training},
    S.training: {S.training, S.generating},
    S.generating: {S.generating, S.delivering},
    S.delivering: {S.delivering, S.delivered},
    S.paused: set(),
    S.delivered: set(),
    S.failed: set(),
    S.cancelled: set(),
}
for _status in ACTIVE:
    TRANSITIONS[_status] |= {S.failed, S.cancelled, S.paused}
TRANSITIONS[S.paused] |= ACTIVE | {S.failed, S.cancelled}


class TransitionRefused(HeadpixError):
    code = "transition_refused"


class ShootStopped(HeadpixError):
    """The shoot was cancelled, failed or paused while the flow ran: stop at this boundary."""

    code = "shoot_stopped"


def advance(shoot: Photoshoot, to: ShootStatus, detail: str | None = None) -> None:
    """Move a shoot along the state machine or refuse with the reason."""
    current = ShootStatus(shoot.status)
    if to not in TRANSITIONS[current]:
        raise TransitionRefused(f"shoot {shoot.id} cannot go from {current} to {to}")
    shoot.status = to.value
    if detail is not None:
        shoot.status_detail = detail
    log.info("shoot %s: %s -> %s", shoot.id, current.value, to.value)


def enter_stage(shoot: Photoshoot, stage_status: ShootStatus) -> None:
    """Check the shoot may still be processed, then mark the stage it is in."""
    current = ShootStatus(shoot.status)
    if current in FINAL or current is S.paused:
        raise ShootStopped(f"shoot {shoot.id} is {current.value}; not processing")
    from sqlalchemy.orm import object_session

    from headpix.privacy.restriction import pause_if_restricted

    session = object_session(shoot)
    if session is not None:
        pause_if_restricted(session, shoot)
    if current != stage_status:
        advance(shoot, stage_status)


def register_customer(session: Session, keys: KeyRing, signup: CustomerSignup, *, channel: str) -> Customer:
    """Find the customer by email (blind index) or create them with their values sealed,
    recording consent to the current policy."""
    customer = personal.find_by_email(session, keys, signup.email)
    if customer is None:
        customer = personal.new_customer(
            keys,
            name=signup.name,
            email=signup.email,
            preferences=signup.preferences.model_dump(exclude_none=True),
            gender=signup.gender.value,
            policy_version=POLICY_VERSION,
            consent_channel=channel,
        )
        session.add(customer)
        session.flush()
        session.add(
            Consent(
                customer_id=customer.id,
                policy_version=POLICY_VERSION,
                action="accepted",
                channel=channel,
                at=customer.consented_at,
            )
        )
        log.info("customer %s registered", customer.id)
    return customer


def receive_shoot(
    services: Services,
    customer: Customer,
    photos: Sequence[tuple[str, bytes]],
    *,
    preferences: dict[str, object] | None = None,
) -> str:
    """Store the uploaded originals and create the shoot; return its id."""
    settings = services.settings
    with services.db.session() as session:
        shoot = Photoshoot(
            customer_id=customer.id,
            styles=list(settings.styles),
            images_per_style=settings.images_per_style,
            seed=settings.seed,
        )
        session.add(shoot)
        session.flush()
        stored: list[str] = []
        try:
            for ordinal, (filename, data) in enumerate(photos):
                photo = OriginalPhoto(
                    shoot_id=shoot.id,
                    ordinal=ordinal,
                    filename_sealed=personal.seal_filename(services.keys, customer.id, filename[-255:]),
                    sha256=hashlib.sha256(data).hexdigest(),
                    size_bytes=len(data),
                )
                session.add(photo)
                session.flush()
                key = Keys.original(customer.id, shoot.id, photo.id)
                services.store.put(key, data)
                stored.append(key)
                photo.original_key = key
        except BaseException:
            _forget_originals(services, shoot.id, stored)  # the rows roll back: their bytes go too
            raise
        analytics.count(session, "shoot_started", utcnow())
        if preferences:
            row = session.get(Customer, customer.id)
            assert row is not None
            merged = personal.preferences_of(services.keys, row)
            merged.update(preferences)
            personal.set_preferences(services.keys, row, merged)
        shoot_id = shoot.id
    log.info("shoot %s received with %d photos", shoot_id, len(photos))
    return shoot_id


def _forget_originals(services: Services, shoot_id: str, keys: Sequence[str]) -> None:
    for key in keys:
        try:
            services.store.delete(key)
        except Exception as error:  # the sweep's leftover scan is the safety net
            reason = type(error).__name__
            log.warning("shoot %s: an original of a refused upload not deleted (%s)", shoot_id, reason)


def load_shoot(session: Session, shoot_id: str) -> Photoshoot:
    shoot = session.get(Photoshoot, shoot_id)
    if shoot is None:
        raise NotFound(f"no shoot with id {shoot_id}; check the id printed by `headpix shoot start`")
    return shoot


def rejected_summary(keys: KeyRing, customer_id: str, photos: Sequence[OriginalPhoto]) -> str:
    """Customer-readable lines naming each refused photo and why."""
    lines = []
    for photo in photos:
        if photo.verdict == "rejected":
            lines.append(
                f"{personal.filename_of(keys, customer_id, photo)}: "
                f"{'; '.join(sentence(code) for code in photo.reasons)}"
            )
    return "\n".join(lines)


def shoot_report(services: Services, shoot_id: str) -> ShootReport:
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        headshots = [
            HeadshotOut(key=h.key, style=h.style, seed=h.seed)
            for h in shoot.headshots
            if h.rendered_at is not None
        ]
        mail = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == f"delivery:{shoot_id}"))
        link = session.scalar(
            select(GalleryLink)
            .where(GalleryLink.shoot_id == shoot_id)
            .order_by(GalleryLink.created_at.desc())
        )
        sent = mail is not None and mail.status == "sent" and link is not None
        return ShootReport(
            shoot_id=shoot.id,
            status=ShootStatus(shoot.status),
            detail=shoot.status_detail,
            headshots=headshots,
            per_style=dict(Counter(h.style for h in headshots)),
            gallery_link_sent=sent,
            gallery_link_expires_at=link.expires_at.isoformat() if sent and link is not None else None,
            email=mail.provider_message_id if mail is not None else None,
            stage_seconds={k: float(v) for k, v in (shoot.stage_seconds or {}).items()},
            rejected_photos=[
                {
                    "file": personal.filename_of(services.keys, shoot.customer_id, p),
                    "reasons": list(p.reasons),
                }
                for p in shoot.photos
                if p.verdict == "rejected"
            ],
            progress_step=shoot.progress_step or 0,
            progress_total=shoot.progress_total or 0,
            attempt=shoot.attempt or 0,
            placement={k: str(v) for k, v in (shoot.placement or {}).items()},
        )


def record_stage_time(session: Session, shoot_id: str, stage: str, seconds: float) -> None:
    shoot = session.get(Photoshoot, shoot_id)
    if shoot is None:  # erased while the stage ran: nothing of it is kept, its timing neither
        return
    times = dict(shoot.stage_seconds or {})
    times[stage] = round(times.get(stage, 0.0) + seconds, 3)
    shoot.stage_seconds = times
    shoot.updated_at = utcnow()
