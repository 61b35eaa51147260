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
    """Sweep every category in turn, then leave the compliance report for operators."""
    now = parse_time(as_of) if as_of else utcnow()
    counts = {
        name: sweep_category.with_options(name=f"sweep-{name}")(name, now) for name, _ in retention.CATEGORIES
    }
    counts["overdue"] = count_overdue(now)
    publish_report(now, counts)
    return counts
