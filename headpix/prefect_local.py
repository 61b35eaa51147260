"""Prefect's ephemeral API for the embedded default, started one process at a time.

Without a Prefect server (no PREFECT_API_URL) each process starts its own temporary API on
the shared ``PREFECT_HOME`` database, and that start-up migrates the database: processes
starting together raced it ("Online migration expected to match one row … 0 found").
Starting it under a file lock in PREFECT_HOME lets the first migrate and the others find the
database at head; the flow then uses the already started API.
"""

from __future__ import annotations

from pathlib import Path

from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, PREFECT_SERVER_EPHEMERAL_ENABLED

from headpix.migrate_lock import file_lock


def start_local_api() -> None:
    """Start the ephemeral API now, under a lock, when no Prefect server is configured."""
    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    home = Path(PREFECT_HOME.value()).expanduser()
    with file_lock(home / "ephemeral-start.lock"):
        SubprocessASGIServer().start()
