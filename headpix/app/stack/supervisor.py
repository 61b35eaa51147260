"""`headpix stack up|down|status`: the production shape on loopback, started and stopped by pid."""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
from dataclasses import dataclass

from headpix.app.stack import prefect_stack, procs, ray_nodes, services_local
from headpix.app.stack.env import base_env, client_env, tuning_from
from headpix.app.stack.layout import StackLayout, StackState

PORT_NAMES = ("postgres", "prefect", "ray", "s3", "mail")


@dataclass(frozen=True)
class Health:
    component: str
    address: str
    healthy: bool
    pid: int | None


def up(layout: StackLayout, *, s3_faults: bool = False) -> StackState:
    """Start every component (PostgreSQL first, workers last); refuse if the stack is up already.

    With ``s3_faults`` every client reaches S3 through the fault-injecting proxy
    (``headpix.app.stack.s3faults``), which passes everything through until a test sets rules.
    """
    state = layout.load()
    if state is not None and any(procs.alive(pid) for pid in state.pids.values()):
        raise procs.StackError(
            f"a stack is already running from {layout.root}; `headpix stack status` shows it, "
            "`headpix stack down` stops it"
        )
    names = (*PORT_NAMES, "s3faults") if s3_faults else PORT_NAMES
    state = StackState(
        ports={name: procs.free_port() for name in names}, tuning=tuning_from(dict(os.environ))
    )
    layout.save(state)
    try:
        _start_all(layout, state)
    except BaseException:
        layout.save(state)
        down(layout)
        raise
    layout.save(state)
    return state


def _start_all(layout: StackLayout, state: StackState) -> None:
    from headpix.privacy.receipts import init_key

    layout.master_key()
    if not layout.receipt_key_file.exists():
        init_key(layout.receipt_key_file)
    env = base_env()
    services_local.postgres_up(layout, state)
    layout.save(state)
    services_local.s3_up(layout, state, env)
    if "s3faults" in state.ports:
        services_local.s3_faults_up(layout, state, env)
    services_local.mail_up(layout, state, env)
    ray_nodes.head_up(layout, state, env)
    for name in ray_nodes.GPU_NODES:
        ray_nodes.gpu_node_up(layout, state, env, name)
    layout.save(state)
    prefect_stack.server_up(layout, state)
    layout.save(state)
    _migrate(layout, state)
    prefect_stack.deploy(layout, state)
    ray_nodes.wait_for_gpus(layout, state, env)
    prefect_stack.workers_up(layout, state)


def _migrate(layout: StackLayout, state: StackState) -> None:
    """Bring the Headpix schema to head before any worker runs a flow."""
    import sys

    env = base_env()
    env.update(client_env(layout, state))
    env["HEADPIX_LAUNCHER"] = "inprocess"  # the deployments are created after the schema
    procs.run([sys.executable, "-m", "headpix.app.cli", "db", "upgrade"], env=env, what="headpix db upgrade")


def down(layout: StackLayout) -> list[str]:
    """Stop our processes by pid (workers first) and drop the private PostgreSQL cluster."""
    state = layout.load()
    if state is None:
        return []
    stopped = []
    engines = [prefect_stack.engine_name(w) for w in prefect_stack.WORKERS]
    for name in (*prefect_stack.WORKERS, *engines, "prefect-server", "mail", "s3faults", "s3"):
        if procs.alive(state.pids.get(name)):
            stopped.append(name)
        procs.stop(state.pids.get(name))
    ray_nodes.down(state)
    stopped += [n for n in (*ray_nodes.GPU_NODES, "ray-head") if n in state.pids]
    services_local.postgres_down(state)
    if state.pg_cluster:
        stopped.append("postgres")
    for worker in prefect_stack.WORKERS:
        layout.engine_socket(worker).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        layout.engine_socket(prefect_stack.WORKERS[0]).parent.rmdir()
    layout.state_file.unlink(missing_ok=True)
    return stopped


def _json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


def status(layout: StackLayout) -> list[Health]:
    state = layout.load()
    if state is None:
        return []
    ports = state.ports
    pids = state.pids
    report = [
        Health("postgres", f"127.0.0.1:{ports['postgres']}", procs.port_open(ports["postgres"]), None),
        Health("s3", f"http://127.0.0.1:{ports['s3']}", procs.port_open(ports["s3"]), pids.get("s3")),
        Health(
            "mail",
            f"http://127.0.0.1:{ports['mail']}",
            procs.http_ok(f"http://127.0.0.1:{ports['mail']}/health"),
            pids.get("mail"),
        ),
        Health(
            "prefect-server",
            prefect_stack.api_url(state),
            procs.http_ok(f"{prefect_stack.api_url(state)}/health"),
            pids.get("prefect-server"),
        ),
        Health("ray-head", f"127.0.0.1:{ports['ray']}", procs.port_open(ports["ray"]), pids.get("ray-head")),
    ]
    for name in (*ray_nodes.GPU_NODES, *prefect_stack.WORKERS):
        report.append(Health(name, "-", procs.alive(pids.get(name)), pids.get(name)))
    for worker in prefect_stack.WORKERS:
        name, path = prefect_stack.engine_name(worker), layout.engine_socket(worker)
        report.append(Health(name, str(path), procs.socket_open(path), pids.get(name)))
    return report


def ui_url(state: StackState) -> str:
    return f"http://127.0.0.1:{state.ports['prefect']}"
