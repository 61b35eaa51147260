"""The stack scenarios: each starts one shoot and breaks the stack under it (tests/stack/test_stack.py)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
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
# Set once each fault has been dealt (the cancel scenario waits for them all: a killed worker
# takes its flow runs along, and a restarted server leaves runs alive then without cancellation).
FAULTS_DONE = {name: threading.Event() for name in ("ray_node_killed", "worker_killed", "server_restarted")}
# FAULTS_DONE["server_restarted"] is set once the Prefect server is back: the plain shoot starts
# after it, because a task run begun while the server is down is never recorded there and the
# UI check would miss its stage.


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
        counts = {
            table: conn.execute(
                sa.text(f"select count(*) from {table} where shoot_id = :id"), {"id": shoot_id}
            ).scalar_one()
            for table in ("identity_models", "headshots")
        }
    return {**row._mapping, **counts}


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
    report = stack.cli_json_early(
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
        # With ten steps still to go: on a loaded machine, polling, finding the node's processes
        # and the kill take seconds, and a kill after the last step tests nothing.
        if row["status"] == "training" and node and 0 < row["progress_step"] <= row["progress_total"] - 10:
            holder["node"] = node
            return True
        return False

    wait_for(training_placed, timeout_s=DEADLINE_S, what="training under way on a known node")
    name = stack.node_pid_running(holder["node"])
    assert name, f"no GPU node of the stack has Ray node id {holder['node']}"
    stack.kill_ray_node(name)
    FAULTS_DONE["ray_node_killed"].set()  # a shoot started now may wait for the node: no harm
    outcome.notes.update(
        killed_node=holder["node"], killed_at_step=shoot_row(stack, outcome.shoot_id)["progress_step"]
    )
    try:
        # A new shoot's pool starts while the node is gone; it must grow when the node returns.
        probe = Probe(stack, "outage")
        outcome.notes["probe"] = probe
        outcome.notes["created"] = probe.next_event("created", timeout_s=240)
        stack.restart_ray_node(name)
        outcome.notes["restarted"] = name
        outcome.notes["grown"] = probe.next_event("grown", timeout_s=480)
    finally:
        if "restarted" not in outcome.notes:
            stack.restart_ray_node(name)
    outcome.notes["row"] = wait_delivered(stack, outcome.shoot_id, nudge_watchdog=True)


class Probe:
    """tests/stack/pool_probe.py in a client process of the stack, read one JSON event at a time."""

    def __init__(self, stack: Stack, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.stack.pool_probe", *args],
            env=stack.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")  # end of output

    def next_event(self, event: str, *, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if not line:
                stderr = self.process.stderr.read()[-3000:] if self.process.stderr else ""
                raise AssertionError(f"pool probe ended before '{event}': {stderr}")
            if line.startswith("{") and json.loads(line).get("event") == event:
                return dict(json.loads(line))
        raise AssertionError(f"pool probe: no '{event}' in {timeout_s:.0f} s")

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


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

    try:
        wait_for(trained, timeout_s=DEADLINE_S, what="the identity model trained", poll_s=0.1)
        assert holder, "the shoot was delivered before the worker could be killed"
        worker = stack.worker_running(holder["flow_run_id"])
        assert worker, f"no worker runs flow run {holder['flow_run_id']}"
        stack.kill_worker(worker)
        outcome.notes.update(
            killed_worker=worker, status_at_kill=holder["status"], train_compute=holder["compute_seconds"]
        )
        stack.restart_worker(worker)
    finally:
        FAULTS_DONE["worker_killed"].set()
    outcome.notes["row"] = wait_delivered(stack, outcome.shoot_id, nudge_watchdog=True)


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
        FAULTS_DONE["server_restarted"].set()
    outcome.notes["row"] = wait_delivered(stack, outcome.shoot_id, nudge_watchdog=True)


def plain(stack: Stack, outcome: Outcome) -> None:
    # Found by name before its flow starts: a run queued behind the concurrency limit is live.
    outcome.notes["runs_at_start"] = run_states(stack, f"photoshoot-{outcome.shoot_id}")
    # The other scenarios' faults hit every shoot on the stack: this one may need the watchdog too.
    outcome.notes["row"] = wait_delivered(stack, outcome.shoot_id, nudge_watchdog=True)


def run_states(stack: Stack, run_name: str) -> list[str]:
    """The state type of every flow run with this name (a resumed shoot has several)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: stack.env["PREFECT_API_URL"]}),
        get_client(sync_client=True) as client,
    ):
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[run_name])))
        return [str(run.state_type.value if run.state_type else "") for run in runs]


ARMED_CLI = "\n".join(
    [
        "import sys",
        "import prefect.client.orchestration, prefect.client.schemas.filters, prefect.states",
        "from headpix.app.cli import main",
        "sys.stdin.readline()",
        "sys.exit(main(sys.argv[1:]))",
    ]
)


def cancelled(stack: Stack, outcome: Outcome) -> None:
    """`headpix shoot cancel` while the actor trains; wait for the run to end (started after the faults)."""
    holder: dict[str, Any] = {}

    def training() -> bool:
        row = shoot_row(stack, outcome.shoot_id)
        if row["status"] == "training" and 0 < row["progress_step"] < row["progress_total"]:
            holder.update(row)
            return True
        assert row["status"] in ("received", "validating", "training"), f"past training uncancelled: {row}"
        return False

    # `headpix shoot cancel`, its imports done ahead: a CLI starting on two loaded cores can take
    # longer than the tiny training, and the cancel must land while the actor trains.
    armed = subprocess.Popen(
        [sys.executable, "-c", ARMED_CLI, "shoot", "cancel", outcome.shoot_id, "--json"],
        env=stack.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(training, timeout_s=DEADLINE_S, what="training under way", poll_s=0.1)
        stdout, stderr = armed.communicate("go\n", timeout=300)
    finally:
        if armed.poll() is None:
            armed.kill()
    assert armed.returncode == 0, f"headpix shoot cancel: {stdout}\n{stderr[-3000:]}"
    outcome.notes["report"] = json.loads(stdout.strip().splitlines()[-1])
    outcome.notes["cancelled_at_step"] = holder["progress_step"]
    name = f"photoshoot-{outcome.shoot_id}"
    final = ("CANCELLED", "COMPLETED", "FAILED", "CRASHED")
    wait_for(
        lambda: all(state in final for state in run_states(stack, name)),
        timeout_s=240,
        what="the shoot's flow run to end",
        poll_s=1,
    )
    outcome.notes["runs"] = run_states(stack, name)
    outcome.notes["row"] = shoot_row(stack, outcome.shoot_id)


DRIVERS: dict[str, Callable[[Stack, Outcome], None]] = {
    "plain": plain,
    "ray_node_killed": ray_node_killed,
    "worker_killed": worker_killed,
    "server_restarted": server_restarted,
    "cancelled": cancelled,
}
