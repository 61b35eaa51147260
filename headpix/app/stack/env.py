"""The settings a client of the stack needs, printed as `export` lines; workers get the same."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from headpix.app.stack.layout import BUCKET, StackLayout, StackState

CODE_DIR = Path(__file__).resolve().parents[3]  # the repository root (prefect.yaml's pull step)
# A run starts within 2 s of creation: workers poll every second and look 2 s ahead.
WORKER_QUERY_SECONDS = "1"
WORKER_PREFETCH_SECONDS = "2"
HEARTBEAT_SECONDS = "30"  # Prefect's minimum; the shoot's own heartbeat is finer (see watchdog)
SENDGRID_KEY = "SG.local-stack-recorder"  # the recorder checks presence, not value


def postgres_url(state: StackState, database: str, *, driver: str = "psycopg") -> str:
    return f"postgresql+{driver}://postgres@127.0.0.1:{state.ports['postgres']}/{database}"


def client_env(layout: StackLayout, state: StackState) -> dict[str, str]:
    """What `eval "$(headpix stack env)"` sets: every CLI command then works against the stack."""
    ports = state.ports
    return {
        "HEADPIX_HOME": str(layout.home),
        "PREFECT_API_URL": f"http://127.0.0.1:{ports['prefect']}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "HEADPIX_LAUNCHER": "deployments",
        "HEADPIX_DATABASE_URL": postgres_url(state, "headpix"),
        "HEADPIX_KEYS_DATABASE_URL": postgres_url(state, "headpix_keys"),
        "HEADPIX_MASTER_KEY": layout.master_key(),
        "HEADPIX_RECEIPT_SIGNING_KEY_FILE": str(layout.receipt_key_file),
        "HEADPIX_STORAGE_URL": f"s3://{BUCKET}/objects",
        # Through the fault proxy when the stack runs one (fault tests), else moto itself.
        "HEADPIX_S3_ENDPOINT_URL": f"http://127.0.0.1:{ports.get('s3faults', ports['s3'])}",
        "HEADPIX_S3_ACCESS_KEY_ID": "stack",
        "HEADPIX_S3_SECRET_ACCESS_KEY": "stack-secret",
        "HEADPIX_MAIL_BACKEND": "sendgrid",
        "HEADPIX_SENDGRID_API_KEY": SENDGRID_KEY,
        "HEADPIX_SENDGRID_HOST": f"http://127.0.0.1:{ports['mail']}",
        "HEADPIX_RAY_ADDRESS": f"127.0.0.1:{ports['ray']}",
        "HEADPIX_GPUS_PER_ACTOR": "1",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(layout.ray_token_file),
        "RAY_USAGE_STATS_ENABLED": "0",
    }


def base_env() -> dict[str, str]:
    """The caller's environment with telemetry off; HEADPIX_* tuning (steps, styles) passes on."""
    env = dict(os.environ)
    env.update(
        {
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("PREFECT_API_URL", None)
    # Set by a local, single-node Ray started earlier in this process (ray_cluster.runtime);
    # the stack's nodes must be free to form a cluster.
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
    return env


WIRING_WORDS = (
    "KEY",
    "SECRET",
    "_URL",
    "ADDRESS",
    "HOME",
    "LAUNCHER",
    "BACKEND",
    "GPUS_PER_ACTOR",
    "S3_",
    "SENDGRID",
)


def tuning_from(environ: dict[str, str]) -> dict[str, str]:
    """The caller's HEADPIX_* tuning (steps, styles, …): never secrets or the stack's own wiring."""
    return {
        k: v
        for k, v in environ.items()
        if k.startswith("HEADPIX_") and not any(word in k for word in WIRING_WORDS)
    }


def worker_env(layout: StackLayout, state: StackState) -> dict[str, str]:
    env = base_env()
    env.update(state.tuning)
    env.update(client_env(layout, state))
    env.update(
        {
            "PREFECT_HOME": str(layout.root / "prefect-client"),
            "PREFECT_WORKER_QUERY_SECONDS": WORKER_QUERY_SECONDS,
            "PREFECT_WORKER_PREFETCH_SECONDS": WORKER_PREFETCH_SECONDS,
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": HEARTBEAT_SECONDS,
            "PREFECT_LOGGING_LEVEL": "INFO",
            "HEADPIX_CODE_DIR": str(CODE_DIR),
            "PYTHONPATH": str(CODE_DIR),
        }
    )
    return env


def render_exports(env: dict[str, str]) -> str:
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in env.items())
