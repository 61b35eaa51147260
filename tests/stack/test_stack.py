"""The production shape under faults: shoots through deployments and workers on a three-node Ray.

One stack per session (tests/fixtures_stack.py). The scenarios run at the same time, each in
a thread of the module fixture below, because one after another they would not fit the time
budget on two cores; each test then checks one scenario's outcome.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headpix.app.stack import prefect_stack
from headpix.app.stack.prefect_stack import engine_name
from headpix.app.stack.ray_nodes import GPU_NODES
from headpix.samples import sample_photos
from tests.fixtures_stack import Stack
from tests.stack.scenarios import (
    DEADLINE_S,
    DRIVERS,
    FAULTS_DONE,
    NAME,
    Outcome,
    Probe,
    engines,
    run_states,
    shoot_row,
    start,
    wait_for,
)

pytestmark = [pytest.mark.stack]

SCENARIOS = ("plain", "ray_node_killed", "worker_killed", "server_restarted", "cancelled")


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("selfies")
    for name, data in sample_photos(6):
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def outcomes(stack: Stack, photos: Path) -> Iterator[dict[str, Outcome]]:
    """Start four shoots at once and run each scenario's fault against its own shoot; the plain
    shoot starts once the Prefect server is back, the shoot to cancel once the faults are over
    (a killed worker would take its run along)."""
    results = {name: Outcome() for name in SCENARIOS}

    def run(name: str) -> None:
        try:
            if name == "cancelled":
                for event in FAULTS_DONE.values():
                    event.wait(timeout=DEADLINE_S)
            if name == "plain":  # see scenarios.FAULTS_DONE
                FAULTS_DONE["server_restarted"].wait(timeout=DEADLINE_S)
            start(stack, photos, results[name], name)
            DRIVERS[name](stack, results[name])
        except BaseException as error:  # reported by the scenario's own test
            results[name].error = f"{type(error).__name__}: {error}"
        finally:
            if name in FAULTS_DONE:
                FAULTS_DONE[name].set()

    threads = [threading.Thread(target=run, args=(name,), daemon=True) for name in SCENARIOS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE_S + 120)
    probe: Probe | None = results["ray_node_killed"].notes.get("probe")
    try:
        if probe is not None and "grown" in results["ray_node_killed"].notes:
            # Every shoot has ended: two jobs sent at once now go to both actors, one each.
            probe.send("go")
            results["ray_node_killed"].notes["jobs"] = probe.next_event("jobs", timeout_s=360)
    except AssertionError as error:
        results["ray_node_killed"].notes["jobs_error"] = str(error)
    finally:
        if probe is not None:
            probe.stop()
    yield results
    for engine in engines.values():
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
    # The run is named when it is created, not when its flow starts: the watchdog finds a run
    # that waits for a worker or a concurrency slot, and does not resume the shoot twice.
    assert outcome.notes["runs_at_start"], "no run named photoshoot-<shoot id> right after the start"
    placement = row["placement"]
    assert set(placement) >= {"train", "generate"}, placement
    assert stack.state.head_node_id not in placement.values(), "an actor ran on the head node"
    # Ray renices its workers to 15 by default; the studio actors are a GPU node's work and
    # run at the node's own priority (they lost the CPU to flow runs at 15).
    niceness = stack.studio_niceness()
    assert niceness and all(node == actor for pairs in niceness.values() for node, actor in pairs), niceness
    # Flow runs are forked from each worker's warm engine server, not started cold.
    workers = " ".join(stack.layout.log(name).read_text() for name in prefect_stack.WORKERS)
    engines = " ".join(stack.layout.log(engine_name(name)).read_text() for name in prefect_stack.WORKERS)
    assert "starting the engine cold" not in workers
    assert "forked run process" in engines


def test_ray_worker_node_killed_mid_training_delivers_with_one_email(
    stack: Stack, outcomes: dict[str, Outcome]
) -> None:
    outcome = outcomes["ray_node_killed"]
    row = delivered_once(stack, outcome)
    assert row["identity_models"] == 1
    # Where training finished is not asserted: twice in our full runs it finished on the killed
    # node's id, the actor having outlived its raylet long enough to answer (not explained yet;
    # issue 10's notes). The promise tested is the customer's: one model, delivered, one email.
    outcome.notes["finished_on_killed_node"] = row["placement"]["train"] == outcome.notes["killed_node"]


def test_a_pool_started_while_a_gpu_node_is_down_grows_when_it_returns(
    stack: Stack, outcomes: dict[str, Outcome]
) -> None:
    notes = outcomes["ray_node_killed"].notes
    assert "grown" in notes, outcomes["ray_node_killed"].error
    assert notes["created"]["gpus"] == 1, notes["created"]  # the pool started with one GPU node
    grown = notes["grown"]
    assert len(grown["ready"]) == 2, grown
    by_name = {stack.node_pid_running(node): node for node in grown["nodes"].values()}
    assert set(by_name) == set(GPU_NODES), f"actors not on both GPU nodes: {grown}"
    returned = by_name[notes["restarted"]]
    assert returned != notes["killed_node"], "the returned node has a new Ray node id"
    assert "jobs" in notes, notes.get("jobs_error")
    assert returned in notes["jobs"]["nodes"], f"no later job ran on the returned node: {notes['jobs']}"


def test_shoot_cancel_mid_training_cancels_the_run_and_leaves_nothing_behind(
    stack: Stack, outcomes: dict[str, Outcome]
) -> None:
    """`headpix shoot cancel` through the Prefect client: the run is cancelled, the customer gets
    no gallery, the originals are gone, and nothing is rendered after the cancel."""
    outcome = outcomes["cancelled"]
    assert not outcome.error, outcome.error
    assert outcome.notes["report"]["status"] == "cancelled", outcome.notes["report"]
    assert outcome.notes["runs"] == ["CANCELLED"], outcome.notes["runs"]
    assert not delivery_mails(stack, outcome.email), "a cancelled shoot was delivered"
    # The actors have since run every other job (the probe waited until they were idle).
    assert "jobs" in outcomes["ray_node_killed"].notes, "the actors were not seen idle"
    row = shoot_row(stack, outcome.shoot_id)
    assert row["status"] == "cancelled", row
    assert run_states(stack, f"photoshoot-{outcome.shoot_id}") == ["CANCELLED"]
    residue = Probe(stack, "residue", outcome.shoot_id).next_event("residue", timeout_s=120)["versions"]
    assert residue["originals"] == residue["crops"] == 0, f"originals not purged: {residue}"
    assert residue["headshots"] == 0 and row["headshots"] == 0, f"headshots written: {residue}, {row}"


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
    tokens = [t for body in bodies for t in re.findall(rf"/privacy/confirm/{request_id}/([0-9a-f]+)", body)]
    assert tokens, "the confirmation email shows no confirmation link"
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
