"""The watchdog: shoots whose run crashed, vanished or went silent are resumed, then failed.

It judges from the shoot's own row (status, heartbeat, attempt), with the launcher's view of
the run as a second signal: a self-hosted Prefect server leaves a dead worker's runs Running,
and its zombie automation can mislabel a run that just completed (PrefectHQ/prefect#18653).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from headpix import shoot_control, stages
from headpix.services import Services
from headpix.shoots import ACTIVE, S
from schemas.models import Photoshoot, utcnow

log = logging.getLogger(__name__)

GAVE_UP = (
    "We could not complete your photoshoot after several attempts. Your photos have been "
    "deleted; please start a new shoot."
)


@dataclass
class WatchdogReport:
    checked: int = 0
    resumed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"checked": self.checked, "resumed": len(self.resumed), "failed": len(self.failed)}


@dataclass(frozen=True)
class _Candidate:
    shoot_id: str
    attempt: int
    quiet_s: float


def _candidates(services: Services, now: datetime) -> list[_Candidate]:
    with services.db.session() as session:
        rows = session.execute(
            select(Photoshoot.id, Photoshoot.attempt, Photoshoot.heartbeat_at, Photoshoot.created_at).where(
                Photoshoot.status.in_([s.value for s in ACTIVE])
            )
        ).all()
    found = []
    for shoot_id, attempt, heartbeat_at, created_at in rows:
        last = heartbeat_at or created_at
        found.append(_Candidate(shoot_id, attempt or 0, (now - last).total_seconds()))
    return found


def check_shoots(services: Services, *, now: datetime | None = None) -> WatchdogReport:
    """Resume each stuck shoot once per call, or fail it when its attempts are spent."""
    settings = services.settings
    now = now or utcnow()
    report = WatchdogReport()
    for shoot in _candidates(services, now):
        report.checked += 1
        if shoot.quiet_s < settings.watchdog_grace_s:
            continue
        live = services.launcher.is_running(shoot.shoot_id)
        silent = shoot.quiet_s >= settings.watchdog_silence_s
        if live and not silent:
            continue  # alive, or queued behind the concurrency limit, and heard from lately
        if live:
            services.launcher.abandon(shoot.shoot_id, reason=f"silent for {shoot.quiet_s:.0f} s")
        if shoot.attempt + 1 >= settings.watchdog_max_attempts:
            stages.stop(services, shoot.shoot_id, S.failed, GAVE_UP)
            report.failed.append(shoot.shoot_id)
            log.warning("shoot %s: failed after %d attempts", shoot.shoot_id, shoot.attempt + 1)
            continue
        _touch(services, shoot.shoot_id, now)
        shoot_control.launch_attempt(services, shoot.shoot_id)
        report.resumed.append(shoot.shoot_id)
        log.warning(
            "shoot %s: quiet %.0f s, resumed (attempt %d)", shoot.shoot_id, shoot.quiet_s, shoot.attempt + 1
        )
    return report


def _touch(services: Services, shoot_id: str, now: datetime) -> None:
    """A fresh attempt starts its quiet period now, so the next round gives it time to start."""
    with services.db.session() as session:
        shoot = session.get(Photoshoot, shoot_id)
        if shoot is not None:
            shoot.heartbeat_at = now


def beat(services: Services, shoot_id: str, *, step: int | None = None, total: int | None = None) -> None:
    """Record that the shoot's run is alive (and its training progress, when given)."""
    with services.db.session() as session:
        shoot = session.get(Photoshoot, shoot_id)
        if shoot is None:
            return
        shoot.heartbeat_at = utcnow()
        if step is not None and total is not None:
            shoot.progress_step, shoot.progress_total = step, total


@contextmanager
def heartbeat(services: Services, shoot_id: str) -> Iterator[None]:
    """Beat now and every ``heartbeat_s`` while the block runs (a thread of this process)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(services.settings.heartbeat_s):
            try:
                beat(services, shoot_id)
            except Exception as error:  # liveness must never fail the work it reports on
                log.warning("shoot %s: heartbeat not recorded (%s)", shoot_id, type(error).__name__)

    beat(services, shoot_id)
    thread = threading.Thread(target=loop, name=f"heartbeat-{shoot_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)
