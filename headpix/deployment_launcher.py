"""The production launcher: each start is a Prefect deployment run, created and left to a worker.

Runs are created with ``timeout=0`` (return at once) and an idempotency key made of the id
and the attempt, so a repeated click creates no second run while a resume creates a new one.
Parameters are ids only: Prefect never sees a customer.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from headpix.launcher import (
    ERASURE,
    PHOTOSHOOT,
    POLICY_NOTICES,
    REQUIRED_DEPLOYMENTS,
    LaunchError,
)
from headpix.settings import SettingsError

log = logging.getLogger(__name__)
LIVE_STATES = ("SCHEDULED", "PENDING", "RUNNING", "CANCELLING", "PAUSED")


class DeploymentLauncher:
    """Creates deployment runs on the Prefect server named by ``PREFECT_API_URL``."""

    def __init__(self, api_url: str):
        if not api_url:
            raise SettingsError(
                "HEADPIX_LAUNCHER=deployments needs PREFECT_API_URL (the Prefect server's API, "
                "e.g. http://127.0.0.1:4200/api); `headpix stack env` prints it for the local stack"
            )
        self.api_url = api_url

    def check(self) -> None:
        """Refuse start-up, naming each missing deployment, before any customer is affected."""
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        missing = []
        with get_client(sync_client=True) as client:
            for name in REQUIRED_DEPLOYMENTS:
                try:
                    client.read_deployment_by_name(name)
                except ObjectNotFound:
                    missing.append(name)
        if missing:
            raise SettingsError(
                f"HEADPIX_LAUNCHER=deployments: deployments missing on {self.api_url}: "
                f"{', '.join(missing)}; run `prefect deploy --all` from the repository root"
            )

    def _run(self, name: str, parameters: dict[str, Any], key: str, run_name: str | None = None) -> str:
        from prefect.deployments import run_deployment

        try:
            run: Any = run_deployment(
                name,
                parameters=parameters,
                timeout=0,
                idempotency_key=key,
                as_subflow=False,
                # Named at creation as the flow names it once it runs: a run still queued behind
                # the concurrency limit is then found live (the watchdog must not resume it).
                flow_run_name=run_name,
            )
        except Exception as error:  # the server's own words carry ids only
            raise LaunchError(
                f"could not create a {name} run ({type(error).__name__}); retry shortly"
            ) from None
        log.info("created %s run %s (%s)", name, run.id, key)
        return str(run.id)

    def start_shoot(self, shoot_id: str, *, attempt: int = 0) -> None:
        self._run(PHOTOSHOOT, {"shoot_id": shoot_id}, f"{shoot_id}:{attempt}", f"photoshoot-{shoot_id}")

    def start_erasure(self, request_id: str, *, as_of: datetime | None = None) -> None:
        parameters: dict[str, Any] = {"request_id": request_id}
        if as_of is not None:
            parameters["as_of"] = as_of.isoformat()
        self._run(ERASURE, parameters, f"erasure:{request_id}", f"erasure-{request_id}")

    def send_policy_notices(self, version: str) -> None:
        self._run(POLICY_NOTICES, {"version": version}, f"policy-notices:{version}")

    def _live_runs(self, shoot_id: str) -> list[Any]:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterName,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType

        live = FlowRunFilter(
            name=FlowRunFilterName(any_=[f"photoshoot-{shoot_id}"]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(s) for s in LIVE_STATES])),
        )
        with get_client(sync_client=True) as client:
            return list(client.read_flow_runs(flow_run_filter=live))

    def cancel_shoot(self, shoot_id: str) -> None:
        """Ask the server to cancel every live run of the shoot; the worker stops its process."""
        from prefect.client.orchestration import get_client
        from prefect.states import Cancelling

        runs = self._live_runs(shoot_id)
        with get_client(sync_client=True) as client:
            for run in runs:
                client.set_flow_run_state(run.id, Cancelling(message="cancelled by request"), force=True)
        log.info("shoot %s: %d live run(s) asked to cancel", shoot_id, len(runs))

    def is_running(self, shoot_id: str) -> bool | None:
        return bool(self._live_runs(shoot_id))

    def abandon(self, shoot_id: str, *, reason: str) -> int:
        """Mark live runs Crashed without hooks: a dead worker left them Running (PrefectHQ/prefect#16746)."""
        from prefect.client.orchestration import get_client
        from prefect.states import Crashed

        runs = self._live_runs(shoot_id)
        with get_client(sync_client=True) as client:
            for run in runs:
                client.set_flow_run_state(run.id, Crashed(message=reason), force=True)
        if runs:
            log.warning("shoot %s: %d silent run(s) marked crashed", shoot_id, len(runs))
        return len(runs)
