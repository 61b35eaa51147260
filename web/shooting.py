"""Starting, following and cancelling a shoot from the web: the same core calls as the CLI."""

from __future__ import annotations

import logging
import threading

from headpix import drafts, sessions, shoot_control
from headpix.app import runner
from headpix.errors import HeadpixError
from headpix.intake import IntakeRules, PhotoInput
from headpix.intake.feedback import sentence
from headpix.privacy.restriction import is_restricted
from headpix.services import Services
from headpix.shoots import receive_shoot
from schemas.models import Customer, Photoshoot
from schemas.web import ShootOut
from web.deps import WebError, not_found

log = logging.getLogger(__name__)

STAGE_WORDS = {
    "received": "Waiting to start",
    "validating": "Checking your photos",
    "training": "Learning your likeness",
    "generating": "Creating your headshots",
    "delivering": "Preparing your gallery",
    "delivered": "Your headshots are ready",
    "failed": "We couldn't finish your photoshoot",
    "cancelled": "Cancelled",
    "paused": "Paused",
}
MESSAGES = {
    "failed": "Something went wrong on our side. Your photos have been deleted; you're welcome to try again.",
    "cancelled": "You cancelled this photoshoot. Your photos have been deleted.",
    "paused": "Paused while processing of your data is restricted at your request.",
    "delivered": "Your gallery is ready. We've also emailed you a private link.",
}
BASE_PERCENT = {
    "received": 0,
    "validating": 5,
    "training": 10,
    "generating": 60,
    "delivering": 90,
    "delivered": 100,
}


def start_shoot(services: Services, customer_id: str) -> str:
    """Start the customer's shoot from their drafts: the set must pass and the address be proven."""
    if not sessions.address_proven(services, customer_id):
        raise WebError(409, "address_unproven", "Open the link we emailed you to confirm your address first.")
    photos = [PhotoInput(file=n, data=d, size=len(d)) for n, d in drafts.load_photos(services, customer_id)]
    report = runner.precheck(services, photos)
    if not report.accepted:
        rules = IntakeRules.from_settings(services.settings)  # the limits quoted are the configured ones
        words = [sentence(r, rules=rules) for r in report.reasons] or [
            f"{v.file}: {sentence(v.reasons[0], other_file=v.duplicate_of, rules=rules)}"
            for v in report.photos
            if not v.accepted and v.reasons
        ]
        raise WebError(409, "photos_refused", " ".join(words) or "Some photos can't be used.")
    with services.db.session() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise not_found()
        if is_restricted(session, customer_id):
            raise WebError(409, "restricted", "Processing of your data is restricted at your request.")
        session.expunge(customer)
    shoot_id = receive_shoot(services, customer, [(p.file, p.data or b"") for p in photos])
    drafts.clear(services, customer_id=customer_id)
    threading.Thread(target=_launch, args=(services, shoot_id), name="launch-shoot", daemon=True).start()
    return shoot_id


def _launch(services: Services, shoot_id: str) -> None:
    """The launcher runs in-process (the embedded default) or starts a deployment run."""
    try:
        services.launcher.start_shoot(shoot_id, attempt=0)
    except Exception:  # the shoot's own status tells the customer; logs name only the id
        log.exception("shoot %s: launch failed", shoot_id)


def shoot_view(services: Services, shoot_id: str) -> ShootOut:
    with services.db.session() as session:
        shoot = session.get(Photoshoot, shoot_id)
        if shoot is None:
            raise not_found()
        status = shoot.status
        step = getattr(shoot, "progress_step", None)
        total = getattr(shoot, "progress_total", None)
        rendered = sum(1 for h in shoot.headshots if h.rendered_at is not None)
        wanted = max(1, len(shoot.styles or []) * (shoot.images_per_style or 1))
    percent: int | None = BASE_PERCENT.get(status)
    if status == "training" and isinstance(step, int) and isinstance(total, int) and total > 0:
        percent = 10 + int(50 * min(step, total) / total)
    elif status == "generating":
        percent = 60 + int(30 * min(rendered, wanted) / wanted)
    if status == "training" and isinstance(step, int) and isinstance(total, int) and total > 0:
        message = f"Training step {min(step, total)} of {total}."
    elif status == "training":
        message = "Training is starting: the first steps take a moment."
    elif status == "generating":
        message = f"{rendered} of {wanted} headshots rendered."
    else:
        message = MESSAGES.get(status, "This usually takes a few minutes. You can leave this page open.")
    return ShootOut(
        shoot_id=shoot_id,
        status=status,
        stage=STAGE_WORDS.get(status, status),
        progress_step=step if isinstance(step, int) else None,
        progress_total=total if isinstance(total, int) else None,
        percent=percent,
        message=message,
        headshots=rendered,
        finished=status in ("delivered", "failed", "cancelled"),
    )


def cancel_shoot(services: Services, shoot_id: str) -> ShootOut:
    try:
        shoot_control.cancel(services, shoot_id)
    except HeadpixError:
        raise WebError(409, "not_cancellable", "This photoshoot can no longer be cancelled.") from None
    return shoot_view(services, shoot_id)
