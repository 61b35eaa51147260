"""Prefect tasks of the photoshoot: thin shells that time a stage and record the outcome.

Parameters and results carry the shoot id and counts only; everything else is looked up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from headpix import delivery, likeness, purge, stages
from headpix.errors import HeadpixError, NotFound
from headpix.sealing import Fenced
from headpix.services import get_services
from headpix.shoots import ShootStopped, record_stage_time
from headpix.watchdog import beat, heartbeat


class PhotosRejected(HeadpixError):
    """Too few usable photos: final, never retried."""

    code = "photos_rejected"


def _retry_unless_final(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except (PhotosRejected, ShootStopped, Fenced, NotFound):
        return False  # final: refused photos, a stopped shoot, or a customer being erased
    except Exception:
        return True
    return True


# Waits between a stage's tries: together they outlast a database or S3 restart (about 10 s
# under load), which used to fail a shoot caught validating by it on its second try.
RETRY_DELAYS_S: list[float] = [3.0, 10.0, 20.0]


def stage_task(name: str, retries: int = 3) -> Callable[[Callable[..., Any]], Any]:
    return task(
        name=name,
        retries=retries,
        retry_delay_seconds=RETRY_DELAYS_S[:retries],
        retry_condition_fn=_retry_unless_final,
        persist_result=False,
    )


@contextmanager
def timed(shoot_id: str, stage: str) -> Iterator[None]:
    """Time the stage and keep the shoot's heartbeat going while it works (the watchdog reads it)."""
    start = time.perf_counter()
    try:
        with heartbeat(get_services(), shoot_id):
            yield
    finally:
        services = get_services()
        with services.db.session() as session:
            record_stage_time(session, shoot_id, stage, time.perf_counter() - start)


@stage_task("validate")
def validate_photos(shoot_id: str) -> dict[str, int]:
    """Check the originals, store sanitised crops, refuse the shoot when too few are usable."""
    with timed(shoot_id, "validate"):
        accepted, rejected, set_ok = stages.validate(get_services(), shoot_id)
    get_run_logger().info("shoot %s: %d photos accepted, %d rejected", shoot_id, accepted, rejected)
    if not set_ok:
        raise PhotosRejected(f"shoot {shoot_id}: {accepted} usable photos of {accepted + rejected}")
    return {"accepted": accepted, "rejected": rejected}


@stage_task("train", retries=2)
def train_identity(shoot_id: str) -> dict[str, float]:
    """Train the identity LoRA on a Ray GPU actor (skipped when the shoot already has one)."""
    logger = get_run_logger()
    progress_id: UUID | None = None

    def report(step: int, total: int, loss: float) -> None:
        nonlocal progress_id
        percent = round(100.0 * step / total, 1)
        if progress_id is None:
            progress_id = cast(
                UUID,
                create_progress_artifact(
                    progress=percent,
                    key=f"training-progress-{shoot_id}",
                    description=f"LoRA training of shoot {shoot_id}",
                ),
            )
        else:
            update_progress_artifact(progress_id, progress=percent)
        beat(get_services(), shoot_id, step=step, total=total)
        logger.info("shoot %s: training step %d/%d, loss %.4f", shoot_id, step, total, loss)

    with timed(shoot_id, "train"):
        outcome = stages.train(get_services(), shoot_id, on_progress=report)
    if outcome.reused:
        logger.info("shoot %s: identity model already trained, reused", shoot_id)
    else:
        logger.info(
            "shoot %s: %d steps, loss %.4f -> %.4f",
            shoot_id,
            outcome.steps,
            outcome.first_loss,
            outcome.final_loss,
        )
        every = max(1, len(outcome.losses) // 20)
        create_table_artifact(
            key=f"training-{shoot_id}",
            table=[
                {"step": i + 1, "loss": round(loss, 5)}
                for i, loss in enumerate(outcome.losses)
                if i % every == 0 or i == len(outcome.losses) - 1
            ],
            description=f"LoRA training loss for shoot {shoot_id}",
        )
    return {"steps": outcome.steps, "final_loss": outcome.final_loss}


@stage_task("generate", retries=2)
def generate_headshots(shoot_id: str) -> int:
    """Render the headshots of every style on a warm Ray actor."""
    with timed(shoot_id, "generate"):
        total = stages.generate(get_services(), shoot_id)
    get_run_logger().info("shoot %s: %d headshots rendered", shoot_id, total)
    report_likeness(shoot_id)
    return total


def report_likeness(shoot_id: str) -> None:
    """Operators see each headshot's likeness score; a shoot whose median stayed low is flagged."""
    summary = stages.likeness_summary(get_services(), shoot_id)
    if not summary.scores:
        return
    median = f"{summary.median:.2f}" if summary.median is not None else "-"
    create_table_artifact(
        key=f"likeness-{shoot_id}",
        table=likeness.operator_table(summary),
        description=f"Likeness of shoot {shoot_id}'s headshots (0-1), median {median}",
    )
    flag = likeness.flag_markdown(summary)
    if flag is not None:
        create_markdown_artifact(key=f"likeness-flag-{shoot_id}", markdown=flag)
        get_run_logger().warning("shoot %s: low likeness, median %s", shoot_id, median)


@stage_task("deliver", retries=3)
def deliver_gallery(shoot_id: str) -> str:
    """Email the private gallery link exactly once; return the mail's outbox status."""
    with timed(shoot_id, "deliver"):
        mail = delivery.deliver(get_services(), shoot_id)
    if mail in ("sent", "already delivered"):
        get_run_logger().info("shoot %s: delivered; gallery mail %s", shoot_id, mail)
    else:  # an operator's trace: the compliance report lists the message by id
        get_run_logger().warning("shoot %s: delivered; gallery mail %s", shoot_id, mail)
    return mail


@stage_task("purge", retries=3)
def purge_originals(shoot_id: str) -> int:
    """Delete every version of the originals and crops once the model is trained; verify."""
    with timed(shoot_id, "purge"):
        removed = purge.purge_after_training(get_services(), shoot_id)
    get_run_logger().info("shoot %s: %d object versions purged", shoot_id, removed)
    return removed
