"""Running shoots from the CLI and the web layer: intake pre-check, flow run, resume, cancel."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from headpix import shoot_control
from headpix.errors import CommandError
from headpix.intake import (
    IntakeReport,
    IntakeRules,
    PhotoInput,
    check_photos,
    scanner_from_settings,
)
from headpix.intake.feedback import refusal_lines
from headpix.safeguards import is_restricted
from headpix.services import Services
from headpix.shoots import receive_shoot, register_customer
from schemas.api import CustomerSignup

log = logging.getLogger(__name__)


class PhotosRefused(CommandError):
    code = "photos_rejected"


def precheck(services: Services, photos: Sequence[PhotoInput]) -> IntakeReport:
    """Run the intake rules before anything is stored, so bad input creates no shoot."""
    rules = IntakeRules.from_settings(services.settings)
    return check_photos(list(photos), rules, scanner=scanner_from_settings(services.settings))


def refusal_message(report: IntakeReport, rules: IntakeRules | None = None) -> str:
    lines = ["photos refused:", *(f"  {line}" for line in refusal_lines(report, rules))]
    lines.append("Fix or remove these photos, or pass --skip-rejected to use only the good ones.")
    return "\n".join(lines)


def start_shoot(
    services: Services,
    signup: CustomerSignup,
    photos: Sequence[PhotoInput],
    *,
    skip_rejected: bool = False,
    channel: str = "cli",
) -> str:
    """Register the customer, store the originals and launch the photoshoot; return the id."""
    report = precheck(services, photos)
    if not report.accepted and not (skip_rejected and not report.reasons):
        raise PhotosRefused(refusal_message(report, IntakeRules.from_settings(services.settings)))
    services.migrate()
    with services.db.session() as session:
        customer = register_customer(session, services.keys, signup, channel=channel)
        if is_restricted(session, customer.id):
            raise CommandError(
                "processing of this customer's data is restricted at their request; "
                "no new shoot can start until the restriction is lifted",
                code="restricted",
            )
        session.expunge(customer)
    services.fences.check(customer.id)  # an erasure under way: nothing new for this customer
    shoot_id = receive_shoot(
        services,
        customer,
        [(p.file, p.data or b"") for p in photos],
        preferences=signup.preferences.model_dump(exclude_none=True),
    )
    services.launcher.start_shoot(shoot_id, attempt=0)
    return shoot_id


def resume(services: Services, shoot_id: str) -> None:
    shoot_control.resume(services, shoot_id)


def cancel(services: Services, shoot_id: str) -> None:
    shoot_control.cancel(services, shoot_id)
