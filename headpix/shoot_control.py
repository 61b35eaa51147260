"""Resuming and cancelling a shoot by id, through the launcher: used by the CLI, web and privacy core."""

from __future__ import annotations

from headpix import stages
from headpix.errors import CommandError
from headpix.services import Services
from headpix.shoots import ACTIVE, S, load_shoot


def launch_attempt(services: Services, shoot_id: str) -> None:
    """Start the next attempt of a shoot: a new run (and idempotency key) per attempt."""
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        shoot.attempt = (shoot.attempt or 0) + 1
        attempt = shoot.attempt
    services.launcher.start_shoot(shoot_id, attempt=attempt)


def resume(services: Services, shoot_id: str) -> None:
    """Run a crashed or paused shoot again from where its status says it stopped."""
    with services.db.session() as session:
        status = S(load_shoot(session, shoot_id).status)
    if status in (S.failed, S.cancelled):
        raise CommandError(
            f"shoot {shoot_id} is {status.value}; its photos are deleted. Start a new shoot.",
            code="not_resumable",
        )
    if status is S.delivered:
        return
    if status is S.paused:
        from headpix.privacy.restriction import unpause

        with services.db.session() as session:
            unpause(session, load_shoot(session, shoot_id))  # back to its stage, or refused
    if services.launcher.is_running(shoot_id):
        raise CommandError(f"shoot {shoot_id} is running already; nothing to resume", code="running")
    launch_attempt(services, shoot_id)


def cancel(services: Services, shoot_id: str) -> None:
    """Cancel a shoot: its run is asked to stop, running tasks stop at the next boundary; originals go now."""
    with services.db.session() as session:
        status = S(load_shoot(session, shoot_id).status)
    if status not in ACTIVE and status is not S.paused:
        raise CommandError(f"shoot {shoot_id} is {status.value}; nothing to cancel", code="not_cancellable")
    stages.stop(services, shoot_id, S.cancelled, "Cancelled at the customer's or operator's request.")
    services.launcher.cancel_shoot(shoot_id)
