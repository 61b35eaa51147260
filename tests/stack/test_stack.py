"""The production shape under faults: shoots through deployments and workers on a three-node Ray.

One stack per session (tests/fixtures_stack.py). The scenarios run at the same time, each in
a thread of the module fixture below, because one after another they would not fit the time
budget on two cores; each test then checks one scenario's outcome.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from headpix.samples import sample_photos
from tests.fixtures_stack import Stack

pytestmark = [pytest.mark.stack]

ROOT = Path(__file__).resolve().parents[2]
NAME = "Qwyxz Stack-Canary"
SCENARIOS = ("plain", "ray_node_killed", "worker_killed", "server_restarted")
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


_engines: dict[str, sa.Engine] = {}


def _engine(stack: Stack) -> sa.Engine:
    url = stack.env["HEADPIX_DATABASE_URL"]
    if url not in _engines:
        _engines[url] = sa.create_engine(url, pool_size=4, hide_parameters=True)
    return _engines[url]


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
        if row["identity_models"] and row["status"] in ("training", "generating", "delivering"):
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


def server_restarted(stack: Stack, outcome: Outcome) -> None:
    wait_for(
        lambda: shoot_row(stack, outcome.shoot_id)["status"] in ("training", "generating"),
        timeout_s=DEADLINE_S,
        what="the shoot under way",
    )
    outcome.notes["status_at_restart"] = shoot_row(stack, outcome.shoot_id)["status"]
    stack.restart_prefect_server()
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


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("selfies")
    for name, data in sample_photos(6):
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def outcomes(stack: Stack, photos: Path) -> Iterator[dict[str, Outcome]]:
    """Start four shoots at once, then run each scenario's fault against its own shoot."""
    results = {name: Outcome() for name in SCENARIOS}

    def run(name: str) -> None:
        try:
            start(stack, photos, results[name], name)
            DRIVERS[name](stack, results[name])
        except BaseException as error:  # reported by the scenario's own test
            results[name].error = f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=run, args=(name,), daemon=True) for name in SCENARIOS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE_S + 120)
    yield results
    for engine in _engines.values():
        engine.dispose()


def delivery_mails(stack: Stack, email: str) -> list[dict[str, Any]]:
    return [
        m
        for m in stack.mail()
        if any(to.get("email") == email for p in m.get("personalizations", []) for to in p.get("to", []))
        and "ready" in str(m.get("subject", ""))
    ]


def delivered_once(stack: Stack, outcome: Outcome) -> dict[str, Any]:
    assert not outcome.error, outcome.error
    row = outcome.notes["row"]
    assert row["status"] == "delivered", row
    assert len(delivery_mails(stack, outcome.email)) == 1, "expected exactly one delivery email"
    return dict(row)


def test_shoot_start_returns_at_once_and_a_worker_delivers_it_on_gpu_nodes(
    stack: Stack, outcomes: dict[str, Outcome]
) -> None:
    outcome = outcomes["plain"]
    row = delivered_once(stack, outcome)
    assert outcome.start_status == "received", "shoot start must return before the shoot runs"
    placement = row["placement"]
    assert set(placement) >= {"train", "generate"}, placement
    assert stack.state.head_node_id not in placement.values(), "an actor ran on the head node"
    assert all(stack.node_pid_running(node) or True for node in placement.values())


def test_ray_worker_node_killed_mid_training_delivers_with_one_email(
    stack: Stack, outcomes: dict[str, Outcome]
) -> None:
    outcome = outcomes["ray_node_killed"]
    row = delivered_once(stack, outcome)
    assert row["identity_models"] == 1
    assert row["placement"]["train"] != outcome.notes["killed_node"], "training must finish elsewhere"


def test_prefect_worker_killed_the_watchdog_resumes_without_retraining(
    stack: Stack, outcomes: dict[str, Outcome]
) -> None:
    outcome = outcomes["worker_killed"]
    row = delivered_once(stack, outcome)
    assert row["attempt"] >= 1, "the watchdog should have started a new attempt"
    assert row["identity_models"] == 1, "a finished identity model was trained again"
    assert row["compute_seconds"]["train"] == outcome.notes["train_compute"]["train"], "training ran again"


def test_prefect_server_restarted_mid_shoot_delivers(stack: Stack, outcomes: dict[str, Outcome]) -> None:
    delivered_once(stack, outcomes["server_restarted"])


def test_erasure_confirmed_on_the_stack_runs_as_an_erasure_deployment_run(
    stack: Stack, outcomes: dict[str, Outcome]
) -> None:
    email = outcomes["plain"].email
    requested = stack.cli_json("privacy", "request", "erasure", "--email", email)
    request_id = requested["request_id"]
    bodies = [
        str(part.get("value", ""))
        for m in stack.mail()
        if any(to.get("email") == email for p in m.get("personalizations", []) for to in p.get("to", []))
        for part in m.get("content", [])
    ]
    tokens = [t for body in bodies for t in re.findall(r"--token (\S+)", body)]
    assert tokens, "the confirmation email shows no token"
    stack.cli_json("privacy", "confirm", request_id, "--token", tokens[-1])

    def completed() -> bool:
        status = stack.cli_json("privacy", "status", request_id)["status"]
        return status == "completed"

    wait_for(completed, timeout_s=240, what="the erasure request completed", poll_s=3)
    run = flow_run_state(stack, f"erasure-{request_id}")
    assert run == ("erasure", "COMPLETED"), run


def flow_run_state(stack: Stack, run_name: str) -> tuple[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: stack.env["PREFECT_API_URL"]}),
        get_client(sync_client=True) as client,
    ):
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[run_name])))
        assert runs, f"no flow run named {run_name}"
        deployment = client.read_deployment(runs[0].deployment_id) if runs[0].deployment_id else None
        return (
            deployment.name if deployment else "",
            str(runs[0].state_type.value if runs[0].state_type else ""),
        )


def test_ui_shows_the_run_its_stages_and_artifact_and_nothing_personal(
    stack: Stack, outcomes: dict[str, Outcome]
) -> None:
    from headpix.app.stack.uicheck import check_run_page

    outcome = outcomes["plain"]
    assert outcome.shoot_id, outcome.error
    result = check_run_page(stack.layout, stack.state, outcome.shoot_id, forbidden=[NAME, outcome.email])
    assert result.passed, result.summary()
    assert Path(result.screenshot).is_file()
