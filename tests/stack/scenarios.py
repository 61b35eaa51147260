"""The stack scenarios: each starts one shoot and breaks the stack under it (tests/stack/test_stack.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.fixtures_stack import Stack

NAME = "Qwyxz Stack-Canary"
DEADLINE_S = 420


@dataclass
class Outcome:
    shoot_id: str = ""
    email: str = ""
    start_seconds: float = 0.0
    start_status: str = ""
    notes: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def shoot_row(stack: Stack, shoot_id: str) -> dict[str, Any]:
    """The shoot's row; waits out a restart of the stack's PostgreSQL (fault tests restart it)."""
    for _ in range(60):
        try:
            return _shoot_row(stack, shoot_id)
        except sa.exc.OperationalError:
            time.sleep(1)
    return _shoot_row(stack, shoot_id)


def _shoot_row(stack: Stack, shoot_id: str) -> dict[str, Any]:
    engine = _engine(stack)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "select status, attempt, progress_step, progress_total, placement, flow_run_id, "
                "compute_seconds from photoshoots where id = :id"
            ),
            {"id": shoot_id},
        ).one()
        models = conn.execute(
            sa.text("select count(*) from identity_models where shoot_id = :id"), {"id": shoot_id}
        ).scalar_one()
    return {**row._mapping, "identity_models": models}


engines: dict[str, sa.Engine] = {}


def _engine(stack: Stack) -> sa.Engine:
    url = stack.env["HEADPIX_DATABASE_URL"]
    if url not in engines:
        engines[url] = sa.create_engine(url, pool_size=4, pool_pre_ping=True, hide_parameters=True)
    return engines[url]


def wait_for(check: Callable[[], bool], *, timeout_s: float, what: str, poll_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def wait_delivered(stack: Stack, shoot_id: str, *, nudge_watchdog: bool = False) -> dict[str, Any]:
    """Follow the shoot to its end; with ``nudge_watchdog`` run the watchdog when it goes quiet."""
    deadline = time.monotonic() + DEADLINE_S
    last_change = time.monotonic()
    seen: tuple[Any, ...] = ()
    while time.monotonic() < deadline:
        row = shoot_row(stack, shoot_id)
        if row["status"] in ("delivered", "failed", "cancelled"):
            return row
        now = (row["status"], row["attempt"], row["progress_step"])
        if now != seen:
            seen, last_change = now, time.monotonic()
        elif nudge_watchdog and time.monotonic() - last_change > 50:
            stack.run_watchdog()
            last_change = time.monotonic()
        time.sleep(1)
    raise AssertionError(f"shoot {shoot_id} not delivered in {DEADLINE_S} s: {shoot_row(stack, shoot_id)}")


def start(stack: Stack, photos: Path, outcome: Outcome, tag: str) -> None:
    outcome.email = f"stack.{tag}@example.com"
    began = time.monotonic()
    report = stack.cli_json(
        "shoot",
        "start",
        "--email",
        outcome.email,
        "--name",
        NAME,
        "--gender",
        "woman",
        "--photos",
        str(photos),
    )
    outcome.start_seconds = time.monotonic() - began
    outcome.shoot_id, outcome.start_status = report["shoot_id"], report["status"]


def ray_node_killed(stack: Stack, outcome: Outcome) -> None:
    """SIGKILL the Ray node training this shoot, mid-training; bring it back a little later."""
    holder: dict[str, str] = {}

    def training_placed() -> bool:
        row = shoot_row(stack, outcome.shoot_id)
        node = (row["placement"] or {}).get("train")
        if row["status"] == "training" and node and 0 < row["progress_step"] < row["progress_total"]:
            holder["node"] = node
            return True
        return False

    wait_for(training_placed, timeout_s=DEADLINE_S, what="training under way on a known node")
    name = stack.node_pid_running(holder["node"])
    assert name, f"no GPU node of the stack has Ray node id {holder['node']}"
    stack.kill_ray_node(name)
    outcome.notes.update(
        killed_node=holder["node"], killed_at_step=shoot_row(stack, outcome.shoot_id)["progress_step"]
    )
    time.sleep(10)
    stack.restart_ray_node(name)
    outcome.notes["row"] = wait_delivered(stack, outcome.shoot_id, nudge_watchdog=True)


def worker_killed(stack: Stack, outcome: Outcome) -> None:
    """SIGKILL the Prefect worker (and its flow-run process) once training has finished."""
    holder: dict[str, Any] = {}

    def trained() -> bool:
        row = shoot_row(stack, outcome.shoot_id)
        trained = row["identity_models"] and "train" in (row["compute_seconds"] or {})
        if trained and row["status"] in ("training", "generating", "delivering"):
            holder.update(row)
            return True
        return row["status"] == "delivered"

    wait_for(trained, timeout_s=DEADLINE_S, what="the identity model trained", poll_s=0.1)
    assert holder, "the shoot was delivered before the worker could be killed"
    worker = stack.worker_running(holder["flow_run_id"])
    assert worker, f"no worker runs flow run {holder['flow_run_id']}"
    stack.kill_worker(worker)
    outcome.notes.update(
        killed_worker=worker, status_at_kill=holder["status"], train_compute=holder["compute_seconds"]
    )
    stack.restart_worker(worker)
    outcome.notes["row"] = wait_delivered(stack, outcome.shoot_id, nudge_watchdog=True)


# Set once the Prefect server is back: the plain shoot starts after it, because a task run
# begun while the server is down is never recorded there and the UI check would miss its stage.
SERVER_RESTARTED = threading.Event()


def server_restarted(stack: Stack, outcome: Outcome) -> None:
    try:
        wait_for(
            lambda: shoot_row(stack, outcome.shoot_id)["status"] in ("training", "generating"),
            timeout_s=DEADLINE_S,
            what="the shoot under way",
        )
        outcome.notes["status_at_restart"] = shoot_row(stack, outcome.shoot_id)["status"]
        stack.restart_prefect_server()
    finally:
        SERVER_RESTARTED.set()
    outcome.notes["row"] = wait_delivered(stack, outcome.shoot_id, nudge_watchdog=True)


def plain(stack: Stack, outcome: Outcome) -> None:
    # The other scenarios' faults hit every shoot on the stack: this one may need the watchdog too.
    outcome.notes["row"] = wait_delivered(stack, outcome.shoot_id, nudge_watchdog=True)


DRIVERS: dict[str, Callable[[Stack, Outcome], None]] = {
    "plain": plain,
    "ray_node_killed": ray_node_killed,
    "worker_killed": worker_killed,
    "server_restarted": server_restarted,
}
