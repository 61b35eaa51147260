"""Where one shoot's overhead goes on the stack: a span per phase, from Prefect's own timestamps
and the shoot's row (bench/stack.py prints this for the one-at-a-time shoots).

Spans, in order: ``submit`` (start_shoot called until the flow run exists: intake, storage, the
deployment run's creation), ``pickup`` (created until a worker set it Pending), ``process`` (Pending
until Running: a new Python process importing Prefect and the flow), ``to_first_task``, one span per
task (train and generate also net of the actors' compute), the gaps between tasks, and
``to_delivered`` (the last stage task's end until ``delivered_at``). Ids and seconds only.
"""

from __future__ import annotations

import statistics
from typing import Any

STAGES = ("validate", "train", "purge", "generate", "deliver")


Job = tuple[str, str, float, float, float]  # job id, kind, arrived, started, ended (actor history)


def _actor_spans(name: str, began: float, ended: float, jobs: list[Job]) -> dict[str, float]:
    """Inside a train or generate task: before the job reached an actor (driver: Ray connection,
    pool, storage spec), waiting at the actor for its turn, and after the actor finished."""
    mine = sorted((j for j in jobs if j[1] == name), key=lambda j: j[2])
    if not mine:
        return {}
    return {
        f"{name}: task start -> job at actor": mine[0][2] - began,
        f"{name}: at actor -> job started": mine[-1][3] - mine[-1][2],
        f"{name}: job ended -> task end": ended - mine[-1][4],
    }


def _span_rows(
    run: Any, states: list[Any], tasks: list[Any], row: dict[str, Any], jobs: list[Job]
) -> dict[str, float]:
    created = run.created.timestamp()
    pending = min((s.timestamp.timestamp() for s in states if s.type.value == "PENDING"), default=created)
    running = run.start_time.timestamp() if run.start_time else pending
    spans = {
        "submit": created - row["began"],
        "pickup": pending - created,
        "process": running - pending,
    }
    timed = sorted(
        (
            (t.name.rsplit("-", 1)[0], t.start_time.timestamp(), t.end_time.timestamp())
            for t in tasks
            if t.start_time and t.end_time
        ),
        key=lambda t: t[1],
    )
    compute = row.get("compute", {})
    cursor = running
    spans["to_first_task"] = (timed[0][1] - running) if timed else 0.0
    for name, began, ended in timed:
        if name == "purge" or name not in STAGES:
            # purge runs beside generate: its time is not on the shoot's path
            spans[f"{name} (off the path)"] = ended - began
            continue
        if began > cursor and cursor != running:
            spans[f"gap before {name}"] = began - cursor
        spans[name] = ended - began
        if name in ("train", "generate") and name in compute:
            spans[f"{name} minus compute"] = ended - began - float(compute[name])
            spans.update(_actor_spans(name, began, ended, jobs))
        cursor = max(cursor, ended)
    spans["to_delivered"] = row["ended"] - cursor
    return {k: round(v, 2) for k, v in spans.items()}


def spans(api_url: str, rows: list[dict[str, Any]], history: dict[str, list[Job]]) -> dict[str, Any]:
    """Per shoot, the spans above; and the median of each span over the warm shoots.
    ``history``: each actor's job history (``StudioWorker.history``)."""
    jobs = [j for h in history.values() for j in h]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    by_id = {r["shoot_id"]: r for r in rows}
    names = [f"photoshoot-{s}" for s in by_id]
    per_shoot: dict[str, dict[str, float]] = {}
    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names)))
        for run in runs:
            shoot_id = str(run.parameters["shoot_id"])
            tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
            states = client.read_flow_run_states(run.id)
            per_shoot[shoot_id] = _span_rows(
                run, states, tasks, by_id[shoot_id], [j for j in jobs if j[0] == shoot_id]
            )
    warm = [per_shoot[r["shoot_id"]] for r in rows[1:] if r["shoot_id"] in per_shoot]
    keys = list(dict.fromkeys(k for s in warm for k in s))
    median = {k: round(statistics.median(s.get(k, 0.0) for s in warm), 2) for k in keys}
    return {"warm_median_s": median, "per_shoot": [per_shoot.get(r["shoot_id"]) for r in rows]}
