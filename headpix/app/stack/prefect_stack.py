"""Prefect on the stack: a server on PostgreSQL (v1 UI, telemetry off), the work pool, the
deployments of prefect.yaml, the zombie-run automation, and two process workers."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from headpix.app.engine_fork.wire import SOCKET_ENV
from headpix.app.stack import procs
from headpix.app.stack.env import CODE_DIR, HEARTBEAT_SECONDS, base_env, postgres_url, worker_env
from headpix.app.stack.layout import WORK_POOL, StackLayout, StackState

WORKERS = ("worker-1", "worker-2")
ZOMBIE_AUTOMATION = "headpix: crash zombie flow runs"


def _prefect() -> str:
    return str(Path(sys.executable).with_name("prefect"))


def api_url(state: StackState) -> str:
    return f"http://127.0.0.1:{state.ports['prefect']}/api"


def server_env(layout: StackLayout, state: StackState) -> dict[str, str]:
    env = base_env()
    env.update(
        {
            "PREFECT_HOME": str(layout.root / "prefect-server"),
            "PREFECT_API_DATABASE_CONNECTION_URL": postgres_url(state, "prefect", driver="asyncpg"),
            "PREFECT_SERVER_UI_V2_ENABLED": "false",
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(state.ports["prefect"]),
            "PREFECT_UI_API_URL": api_url(state),
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        }
    )
    return env


def _start_server(layout: StackLayout, state: StackState) -> None:
    port = state.ports["prefect"]
    command = [_prefect(), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    state.pids["prefect-server"] = procs.spawn(
        command, log=layout.log("prefect-server"), env=server_env(layout, state)
    )
    procs.wait_until(
        lambda: procs.http_ok(f"{api_url(state)}/health"),
        timeout_s=180,
        what="Prefect server",
        log=layout.log("prefect-server"),
        pid=state.pids["prefect-server"],
    )


def server_up(layout: StackLayout, state: StackState, *, attempts: int = 3) -> None:
    """Start the server on its port. Its port was free when the stack chose it, but the
    components started since open connections whose local ports come from the same range: a
    server that exits because its port was taken meanwhile is started again on a fresh one
    (nothing has been given its address yet)."""
    for attempt in range(1, attempts + 1):
        try:
            _start_server(layout, state)
            return
        except procs.NotReady as error:
            taken = error.exited and "already in use" in error.log_tail  # Prefect's own check
            if not taken or attempt == attempts:
                raise
            state.ports["prefect"] = procs.free_port()


def server_restart(layout: StackLayout, state: StackState) -> None:
    """Stop and start the server on the same port (fault tests: clients hold its address)."""
    procs.stop(state.pids.get("prefect-server"), grace_s=10)
    _start_server(layout, state)


def process_job_template() -> dict[str, Any]:
    """The process pool's template, with the engine command set to the engine-fork client: a
    run is forked from the worker's warm engine server (``headpix.app.engine_fork``), and
    started cold as ``python -m prefect.engine`` only when no server answers. Left unset,
    Prefect 3.9 would start a workspace supervisor process first, which imports Prefect once
    more before the engine does, for per-deployment dependency installation that Headpix does
    not use."""
    from prefect.workers.process import ProcessWorker

    template: dict[str, Any] = ProcessWorker.get_default_base_job_template()
    variables = template["variables"]["properties"]
    variables["command"]["default"] = f"{sys.executable} -m headpix.app.engine_fork.client"
    variables["working_dir"]["default"] = str(CODE_DIR)
    return template


def deploy(layout: StackLayout, state: StackState) -> None:
    """Create the work pool, every deployment of prefect.yaml, and the zombie automation."""
    env = worker_env(layout, state)
    env["PREFECT_API_URL"] = api_url(state)
    template = layout.root / "work-pool-template.json"
    template.write_text(json.dumps(process_job_template()), encoding="utf-8")
    create = ["work-pool", "create", WORK_POOL, "--type", "process", "--overwrite"]
    procs.run(
        [_prefect(), *create, "--base-job-template", str(template)],
        env=env,
        what=f"creating work pool {WORK_POOL}",
    )
    log = layout.log("deploy")
    log.parent.mkdir(parents=True, exist_ok=True)
    out = procs.run(
        [_prefect(), "--no-prompt", "deploy", "--all", "--prefect-file", str(CODE_DIR / "prefect.yaml")],
        env=env,
        what="prefect deploy --all",
    )
    log.write_text(out, encoding="utf-8")
    create_zombie_automation(state)


def create_zombie_automation(state: StackState) -> None:
    """A proactive trigger: a running flow run whose heartbeats stop is marked Crashed.

    A self-hosted server does nothing about silent runs on its own. The watchdog judges from
    the shoot's own heartbeat as well; this is the second signal.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
    from prefect.settings import PREFECT_API_URL, temporary_settings

    within = timedelta(seconds=int(HEARTBEAT_SECONDS) * 3)
    automation = AutomationCore(
        name=ZOMBIE_AUTOMATION,
        description="Mark flow runs whose heartbeats stopped as Crashed",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match={"prefect.resource.id": ["prefect.flow-run.*"]},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=within,
        ),
        actions=[
            ChangeFlowRunState(
                name="Crashed",
                state=StateType.CRASHED,
                message=f"No heartbeat for {within.seconds} s",
                force=False,
            )
        ],
    )
    with (
        temporary_settings(updates={PREFECT_API_URL: api_url(state)}),
        get_client(sync_client=True) as client,
    ):
        if not client.read_automations_by_name(ZOMBIE_AUTOMATION):
            client.create_automation(automation)


def engine_name(worker: str) -> str:
    return f"{worker}-engine"


def _worker_env(layout: StackLayout, state: StackState, name: str) -> dict[str, str]:
    env = worker_env(layout, state)
    env[SOCKET_ENV] = str(layout.engine_socket(name))
    return env


def engine_up(layout: StackLayout, state: StackState, name: str) -> None:
    """The worker's engine server (``headpix.app.engine_fork``): its runs start forked from a
    process that has imported Prefect and the flows already, instead of cold."""
    socket_path = layout.engine_socket(name)
    command = [sys.executable, "-m", "headpix.app.engine_fork.server", "--socket", str(socket_path)]
    log = layout.log(engine_name(name))
    state.pids[engine_name(name)] = procs.spawn(
        command, log=log, env=_worker_env(layout, state, name), cwd=CODE_DIR
    )
    procs.wait_until(
        lambda: procs.socket_open(socket_path),
        timeout_s=120,
        what=f"{name}'s engine server",
        log=log,
        pid=state.pids[engine_name(name)],
    )


def worker_up(layout: StackLayout, state: StackState, name: str) -> None:
    command = [
        _prefect(),
        "worker",
        "start",
        "--pool",
        WORK_POOL,
        "--name",
        f"stack-{name}",
        "--type",
        "process",
    ]
    state.pids[name] = procs.spawn(
        command, log=layout.log(name), env=_worker_env(layout, state, name), cwd=CODE_DIR
    )


def workers_up(layout: StackLayout, state: StackState) -> None:
    for name in WORKERS:
        engine_up(layout, state, name)
    for name in WORKERS:
        worker_up(layout, state, name)
