"""prefect.yaml: every entrypoint loads, and the retention sweep runs on an hourly cron."""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect.client.schemas.schedules import CronSchedule
from prefect.flows import Flow, load_flow_from_entrypoint

ROOT = Path(__file__).resolve().parents[2]


def deployments() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    return {d["name"]: d for d in config["deployments"]}


def test_every_entrypoint_loads_as_a_flow(monkeypatch):
    monkeypatch.chdir(ROOT)
    found = deployments()
    assert {"photoshoot", "retention-sweep", "policy-notices"} <= set(found)
    for name, deployment in found.items():
        flow: Flow = load_flow_from_entrypoint(deployment["entrypoint"])
        assert isinstance(flow, Flow), name
        assert flow.name == name


def test_retention_sweep_is_scheduled_hourly():
    sweep = deployments()["retention-sweep"]
    (schedule,) = sweep["schedules"]
    cron = CronSchedule(cron=schedule["cron"], timezone=schedule.get("timezone", "UTC"))
    assert cron.cron == "0 * * * *" and schedule.get("active", True)
    assert "parameters" not in sweep or "as_of" not in sweep["parameters"]


def test_the_stack_pool_starts_runs_through_the_engine_fork_client():
    """The stack's process pool names the engine command: the engine-fork client, which has the
    run forked from the worker's warm engine server (no workspace supervisor importing Prefect
    first, no cold engine importing it again), from the code's folder."""
    import asyncio
    import sys
    from typing import cast

    from prefect.workers.process import ProcessJobConfiguration

    from headpix.app.stack.env import CODE_DIR
    from headpix.app.stack.prefect_stack import process_job_template

    template = process_job_template()
    config = cast(
        ProcessJobConfiguration,
        asyncio.run(ProcessJobConfiguration.from_template_and_values(template, values={})),
    )
    # A command set before the run is prepared is what makes the worker skip the supervisor.
    assert config.command == f"{sys.executable} -m headpix.app.engine_fork.client"
    assert config.working_dir == CODE_DIR
