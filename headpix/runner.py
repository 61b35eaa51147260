"""Running shoots from the CLI and the web layer: intake pre-check, flow run, resume, cancel."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from headpix import stages
from headpix.errors import CommandError
from headpix.intake import (
    IntakeReport,
    IntakeRules,
    PhotoInput,
    check_photos,
    scanner_from_settings,
)
from headpix.intake.feedback import refusal_lines
from headpix.services import Services, configure_runtime_environment
from headpix.shoots import ACTIVE, S, load_shoot, receive_shoot, register_customer
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
    """Register the customer, store the originals and run the photoshoot flow; return the id."""
    report = precheck(services, photos)
    if not report.accepted and not (skip_rejected and not report.reasons):
        raise PhotosRefused(refusal_message(report, IntakeRules.from_settings(services.settings)))
    services.migrate()
    with services.db.session() as session:
        customer = register_customer(session, signup, channel=channel)
        from headpix.privacy.restriction import is_restricted

        if is_restricted(session, customer.id):
            raise CommandError(
                "processing of this customer's data is restricted at their request; "
                "no new shoot can start until the restriction is lifted",
                code="restricted",
            )
        session.expunge(customer)
    shoot_id = receive_shoot(
        services,
        customer,
        [(p.file, p.data or b"") for p in photos],
        preferences=signup.preferences.model_dump(exclude_none=True),
    )
    run_flow(services, shoot_id)
    return shoot_id


def run_flow(services: Services, shoot_id: str) -> None:
    """Run the photoshoot flow in this process (Prefect ephemeral API or PREFECT_API_URL)."""
    configure_runtime_environment(services.settings)
    from flows.photoshoot import photoshoot
    from headpix.services import use_services

    use_services(services)
    photoshoot(shoot_id, return_state=True)


def resume(services: Services, shoot_id: str) -> None:
    with services.db.session() as session:
        status = S(load_shoot(session, shoot_id).status)
    if status in (S.failed, S.cancelled):
        raise CommandError(
            f"shoot {shoot_id} is {status.value}; its photos are deleted. Start a new shoot.",
            code="not_resumable",
        )
    if status is S.paused:
        from headpix.privacy.restriction import unpause

        with services.db.session() as session:
            unpause(session, load_shoot(session, shoot_id))  # back to its stage, or refused
    run_flow(services, shoot_id)


def cancel(services: Services, shoot_id: str) -> None:
    """Cancel a shoot: running tasks stop at the next stage boundary; originals go now."""
    with services.db.session() as session:
        status = S(load_shoot(session, shoot_id).status)
    if status not in ACTIVE and status is not S.paused:
        raise CommandError(f"shoot {shoot_id} is {status.value}; nothing to cancel", code="not_cancellable")
    stages.stop(services, shoot_id, S.cancelled, "Cancelled at the customer's or operator's request.")
