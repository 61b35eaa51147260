"""Where a burst's wall time goes: each actor's busy intervals and idle gaps, and per shoot the
time from its flow run's start to its first actor call (bench/stack.py prints this).

Times come from the actors' own job history (``StudioWorker.history``: job id, kind, arrived,
started, ended) and Prefect's run timestamps. Ids and seconds only.
"""

from __future__ import annotations

import itertools
import os
import statistics
from pathlib import Path
from typing import Any

Job = tuple[str, str, float, float, float]  # job id, kind, arrived, started, ended


def _idle(jobs: list[Job], start: float, end: float) -> list[tuple[float, float]]:
    """The actor's idle intervals within [start, end]."""
    idle, cursor = [], start
    for _, _, _, began, ended in sorted(jobs, key=lambda j: j[3]):
        if began > cursor:
            idle.append((cursor, min(began, end)))
        cursor = max(cursor, ended)
    if cursor < end:
        idle.append((cursor, end))
    return [(a, b) for a, b in idle if b > a]


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "min": round(min(values), 2),
        "median": round(statistics.median(values), 2),
        "max": round(max(values), 2),
        "sum": round(sum(values), 1),
    }


def timeline(
    history: dict[str, list[Job]], shoot_ids: set[str], run_starts: dict[str, float], start: float, end: float
) -> dict[str, Any]:
    """Per actor: busy, idle before the first job / between jobs / after the last, and the seconds
    a job waited at this actor while another actor sat idle (dispatch to the wrong actor)."""
    jobs = {name: [j for j in h if j[0] in shoot_ids] for name, h in history.items()}
    idle = {name: _idle(js, start, end) for name, js in jobs.items()}
    actors: dict[str, Any] = {}
    for name, js in jobs.items():
        ordered = sorted(js, key=lambda j: j[3])
        gaps = [b[3] - a[4] for a, b in itertools.pairwise(ordered)]
        waited_elsewhere_idle = sum(
            _overlap((arrived, began), gap)
            for _, _, arrived, began, _ in js
            for other, gaps_other in idle.items()
            if other != name
            for gap in gaps_other
        )
        actors[name] = {
            "jobs": len(js),
            "busy_s": round(sum(j[4] - j[3] for j in js), 1),
            "idle_before_first_s": round(ordered[0][3] - start, 1) if ordered else None,
            "idle_after_last_s": round(end - ordered[-1][4], 1) if ordered else None,
            "gaps_between_jobs_s": _stats([g for g in gaps if g > 0]),
            "queued_at_actor_s": _stats([j[3] - j[2] for j in js]),
            "queued_while_other_actor_idle_s": round(waited_elsewhere_idle, 1),
        }
    first_call: dict[str, float] = {}
    for js in jobs.values():
        for job_id, _, arrived, _, _ in js:
            first_call[job_id] = min(arrived, first_call.get(job_id, arrived))
    to_first = [first_call[s] - run_starts[s] for s in shoot_ids if s in first_call and s in run_starts]
    all_jobs = [j for js in jobs.values() for j in js]
    busy_window = (min(j[3] for j in all_jobs), max(j[4] for j in all_jobs)) if all_jobs else (start, end)
    busy = sum(j[4] - j[3] for j in all_jobs)
    return {
        "actors": actors,
        "run_start_to_first_actor_call_s": _stats(to_first),
        "first_job_start_after_burst_start_s": round(busy_window[0] - start, 1),
        "last_job_end_before_last_delivery_s": round(end - busy_window[1], 1),
        "utilisation_between_first_and_last_job": round(
            busy / (len(jobs) * max(1e-9, busy_window[1] - busy_window[0])), 3
        ),
    }


def run_starts(api_url: str, shoot_ids: list[str]) -> dict[str, float]:
    """When each shoot's flow run entered Running (Prefect's timestamp), by shoot id."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    names = [f"photoshoot-{s}" for s in shoot_ids]
    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names)))
        return {str(run.parameters["shoot_id"]): run.start_time.timestamp() for run in runs if run.start_time}


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()
    except (OSError, IndexError):
        return []


def cpu_snapshot(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each group (a pid, its live descendants, and the children each
    reaped: a flow-run process that ended counts in its worker's), and by the whole machine."""
    from headpix.app.stack.procs import descendants

    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for name, pid in groups.items():
        ticks = 0
        for member in [pid, *descendants(pid)]:
            fields = _stat(member)
            if len(fields) > 14:
                ticks += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        used[name] = ticks / tick
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    used["machine"] = (sum(int(v) for v in cpu[:8]) - int(cpu[3]) - int(cpu[4])) / tick
    return used


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: round(after[name] - before.get(name, 0.0), 1) for name in after}
