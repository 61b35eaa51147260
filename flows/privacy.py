"""Privacy flows: an erasure runs as its own flow run, named and parameterised by request id."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger, task

from headpix.privacy.erasure import run_erasure
from headpix.services import get_services


@task(name="erase-subject", retries=2, retry_delay_seconds=5, persist_result=False)
def erase_subject(request_id: str, as_of: str | None) -> str:
    """Delete, shred, verify and sign; returns the request's status (completed or on_hold)."""
    now = datetime.fromisoformat(as_of) if as_of else None
    return run_erasure(get_services(), request_id, now=now)


@flow(name="erasure", flow_run_name="erasure-{request_id}", persist_result=False)
def erasure(request_id: str, as_of: str | None = None) -> str:
    """One confirmed erasure request, end to end."""
    status = erase_subject(request_id, as_of)
    get_run_logger().info("erasure request %s: %s", request_id, status)
    return status
