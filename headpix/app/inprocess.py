"""The embedded launcher: flows run in this process, on Prefect's ephemeral API or PREFECT_API_URL."""

from __future__ import annotations

import threading
from datetime import datetime

from headpix.services import Services, configure_runtime_environment, use_services


class InProcessLauncher:
    """Runs each flow to its end before returning; no server, no worker, nothing to set up."""

    def __init__(self, services: Services):
        self.services = services
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def _enter(self) -> None:
        configure_runtime_environment(self.services.settings)
        from headpix.prefect_local import start_local_api

        start_local_api()  # processes starting together must not race Prefect's own migrations
        use_services(self.services)

    def start_shoot(self, shoot_id: str, *, attempt: int = 0) -> None:
        self._enter()
        from flows.photoshoot import photoshoot

        with self._lock:
            self._running.add(shoot_id)
        try:
            photoshoot(shoot_id, return_state=True)
        finally:
            with self._lock:
                self._running.discard(shoot_id)

    def cancel_shoot(self, shoot_id: str) -> None:
        """Nothing to signal: an in-process run stops at its next stage boundary or fenced write."""

    def start_erasure(self, request_id: str, *, as_of: datetime | None = None) -> None:
        self._enter()
        from flows.privacy import erasure

        erasure(request_id, as_of=as_of.isoformat() if as_of else None)

    def send_policy_notices(self, version: str) -> None:
        self._enter()
        from flows.policy import policy_notices

        policy_notices(version)

    def is_running(self, shoot_id: str) -> bool | None:
        """Runs of this process only; a shoot run by another process is not known here."""
        with self._lock:
            return shoot_id in self._running or None

    def abandon(self, shoot_id: str, *, reason: str) -> int:
        return 0  # an in-process run ends with its caller
