"""Shared fixtures: real services on loopback, adapters chosen by settings, never by patching.

In CI (CI=true) a missing service fails the run; locally it skips with the reason.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Before anything imports Prefect or Ray: our own state, no telemetry, loopback only.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="headpix-tests-"))
os.environ["PREFECT_HOME"] = str(_SESSION_DIR / "prefect")
# The embedded key folder (outside each state dir) then lives in the session dir, not ~/.local.
os.environ["XDG_DATA_HOME"] = str(_SESSION_DIR / "xdg-data")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ.pop("PREFECT_API_URL", None)
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ["DO_NOT_TRACK"] = "1"
_bootstrap = Path.home() / "ray_bootstrap_config.yaml"
if not _bootstrap.exists():
    shutil.copy(ROOT / "deployments" / "ray_bootstrap_config.yaml", _bootstrap)

pytest_plugins = ["tests.fixtures_ray", "tests.fixtures_services", "tests.fixtures_stack"]

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip locally, fail in CI: a missing service is never a silent pass there."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def session_dir() -> Iterator[Path]:
    yield _SESSION_DIR


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Prefect stops its ephemeral server at exit and logs to streams pytest has closed.
    logging.raiseExceptions = False
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)
