"""The retention sweep (cron, hourly): erasures due, leftovers, expiries, inactive customers, report.

It runs as of ``as_of`` (ISO-8601; default now), so a simulated clock drives the same code.
Parameters, results and artifacts carry counts, request and hold ids only.
"""

from __future__ import annotations

from prefect import flow

from headpix import retention
from headpix.clock import parse_time
from schemas.models import utcnow
from tasks.retention import count_overdue, publish_report, sweep_category


@flow(name="retention-sweep", persist_result=False, log_prints=False)
def retention_sweep(as_of: str | None = None) -> dict[str, int]:
    """Sweep every category in turn (each on its own), then leave the compliance report."""
    now = parse_time(as_of) if as_of else utcnow()
    counts: dict[str, int] = {}
    failed: dict[str, str] = {}
    for name, _ in retention.CATEGORIES:
        # Each category on its own: one that fails (retries spent) is reported; the rest still run.
        state = sweep_category.with_options(name=f"sweep-{name}")(name, now, return_state=True)
        if state.is_completed():
            counts[name] = int(state.result())
        else:
            failed[name] = "failed; see the task run's log"
    counts["overdue"] = count_overdue(now)
    publish_report(now, counts, failed)
    return counts
