"""The photoshoot flow: validate → train → (purge ∥ generate) → deliver, one run per shoot.

Cleanup rides on flow state hooks: a shoot that fails for good or is cancelled has its
originals purged; a crashed one is left resumable (`headpix shoot resume`), and the
retention sweep's age limit catches what a crash leaves behind.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run as current_run
from prefect.states import Cancelled, Completed, State

from headpix import stages
from headpix.services import get_services
from headpix.shoots import S, ShootStopped, load_shoot
from headpix.warm_up import join_cluster_early
from headpix.watchdog import beat
from tasks.photoshoot import (
    deliver_gallery,
    generate_headshots,
    purge_originals,
    train_identity,
    validate_photos,
)

log = logging.getLogger(__name__)


def _shoot_id(flow_run: Any) -> str:
    return str(flow_run.parameters["shoot_id"])


def stop_on_failure(flow: Any, flow_run: Any, state: State) -> None:
    """Retries are spent: the shoot fails for good and its originals go."""
    shoot_id = _shoot_id(flow_run)
    services = get_services()
    with services.db.session() as session:
        detail = load_shoot(session, shoot_id).status_detail
    stages.stop(services, shoot_id, S.failed, detail or "Processing failed; please try again.")
    log.info("shoot %s failed; originals purged", shoot_id)


def stop_on_cancellation(flow: Any, flow_run: Any, state: State) -> None:
    stages.stop(get_services(), _shoot_id(flow_run), S.cancelled, "Cancelled.")


def leave_resumable(flow: Any, flow_run: Any, state: State) -> None:
    log.warning("shoot %s crashed; resumable with `headpix shoot resume`", _shoot_id(flow_run))


def summarise(shoot_id: str) -> None:
    """A markdown artifact for operators: counts, stage timings, status — no personal data."""
    services = get_services()
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        accepted = sum(p.verdict == "accepted" for p in shoot.photos)
        rows = "\n".join(f"| {k} | {v:.2f} |" for k, v in (shoot.stage_seconds or {}).items())
        placed = "\n".join(f"| {k} | `{v}` |" for k, v in (shoot.placement or {}).items())
        rendered = sum(h.rendered_at is not None for h in shoot.headshots)
        text = (
            f"# Photoshoot {shoot.id}\n\n"
            f"- status: **{shoot.status}**\n- photos: {len(shoot.photos)} "
            f"({accepted} accepted)\n- headshots: {rendered} in {len(shoot.styles)} styles\n\n"
            f"| stage | seconds |\n|---|---|\n{rows}\n\n"
            f"- attempt: {shoot.attempt}\n\n"
            f"| stage | Ray node id |\n|---|---|\n{placed}\n"
        )
    create_markdown_artifact(key=f"photoshoot-{shoot_id}", markdown=text)


def _cancelled(shoot_id: str) -> bool:
    with get_services().db.session() as session:
        return load_shoot(session, shoot_id).status == S.cancelled.value


def record_run(shoot_id: str) -> None:
    """Note this run on the shoot's row (the watchdog and operators look it up) and beat once."""
    services = get_services()
    run_id = current_run.get_id()
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        shoot.flow_run_id = str(run_id) if run_id else shoot.flow_run_id
    beat(services, shoot_id)


@flow(
    name="photoshoot",
    flow_run_name="photoshoot-{shoot_id}",
    on_failure=[stop_on_failure],
    on_cancellation=[stop_on_cancellation],
    on_crashed=[leave_resumable],
    persist_result=False,
    log_prints=False,
)
def photoshoot(shoot_id: str) -> State:
    """One shoot's story: check photos, learn the face, forget the photos, render, deliver."""
    join_cluster_early(get_services())
    record_run(shoot_id)
    try:
        validate_photos(shoot_id)
        train_identity(shoot_id)
        purged = purge_originals.submit(shoot_id)
        generate_headshots(shoot_id)
        mail = deliver_gallery(shoot_id)
        purged.result()
    except ShootStopped as stopped:
        # Cancelled while it ran (`headpix shoot cancel`): the run ends Cancelled, as operators
        # expect, whether the worker's SIGTERM or this stage boundary noticed it first.
        ended = Cancelled if _cancelled(shoot_id) else Completed
        return ended(message=stopped.message)
    finally:
        summarise(shoot_id)
        heavy = sorted(m for m in ("torch", "diffusers") if m in sys.modules)
        get_run_logger().info("shoot %s: heavy modules in this process: %s", shoot_id, heavy or "none")
    if mail in ("sent", "already delivered"):
        return Completed(message=f"shoot {shoot_id} delivered")
    return Completed(message=f"shoot {shoot_id} delivered; gallery mail {mail} (see the compliance report)")
