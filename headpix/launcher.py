"""Starting work by id: the one interface the core, the CLI and the web layer start flows through.

The core never imports flows, tasks or the application layer. It asks ``services.launcher``
to start a shoot, cancel it, or run an erasure, and the launcher chosen by
``HEADPIX_LAUNCHER`` decides how: in this process (``inprocess``, the embedded default,
installed by ``headpix.app``) or as a Prefect deployment run (``deployments``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from headpix.errors import HeadpixError

PHOTOSHOOT = "photoshoot/photoshoot"
ERASURE = "erasure/erasure"
POLICY_NOTICES = "policy-notices/policy-notices"
RETENTION_SWEEP = "retention-sweep/retention-sweep"
WATCHDOG = "watchdog/watchdog"
REQUIRED_DEPLOYMENTS = (PHOTOSHOOT, ERASURE, POLICY_NOTICES, RETENTION_SWEEP, WATCHDOG)


class LaunchError(HeadpixError):
    code = "launch_failed"


class Launcher(Protocol):
    """Start or stop work by id. Implementations must be idempotent per (id, attempt)."""

    def start_shoot(self, shoot_id: str, *, attempt: int = 0) -> None: ...

    def cancel_shoot(self, shoot_id: str) -> None: ...

    def start_erasure(self, request_id: str, *, as_of: datetime | None = None) -> None: ...

    def send_policy_notices(self, version: str) -> None: ...

    def is_running(self, shoot_id: str) -> bool | None:
        """Whether a run of the shoot is alive; None when this launcher cannot tell."""
        ...

    def abandon(self, shoot_id: str, *, reason: str) -> int:
        """Mark the shoot's live runs Crashed (their process is known dead); returns how many."""
        ...
