"""Connecting to Ray: a local, loopback-only Ray by default, or a cluster by address."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BOOTSTRAP_CONFIG = "provider:\n  type: local\n"
NAMESPACE = "headpix"
# Ray renices every worker process to 15 by default, to keep its raylet responsive. On a GPU
# node the studio actors are the node's whole job: at nice 15 they lost the CPU that feeds the
# GPU to any other process on the machine (on the two-core stack: the flow runs).
STUDIO_NODE_ENV = {"RAY_worker_niceness": "0"}
# AF_UNIX paths are limited to 107 bytes and Ray nests sockets ~60 bytes below its temp dir.
_MAX_TEMP_DIR = 40

_owned_dirs: list[Path] = []


def ensure_bootstrap_config(home: Path | None = None) -> Path:
    """Without this file a locally started Ray probes cloud metadata addresses (169.254.169.254)."""
    path = (home or Path.home()) / "ray_bootstrap_config.yaml"
    if not path.is_file():
        path.write_text(BOOTSTRAP_CONFIG, encoding="utf-8")
    return path


def _short_temp_dir(temp_dir: Path | None) -> Path:
    if temp_dir is not None and len(str(temp_dir.resolve())) <= _MAX_TEMP_DIR:
        temp_dir.mkdir(parents=True, exist_ok=True)
        return temp_dir.resolve()
    short = Path(tempfile.mkdtemp(prefix="hpx-ray-", dir="/tmp"))
    _owned_dirs.append(short)
    return short


def keep_on_loopback() -> None:
    """A local Ray binds and registers on 127.0.0.1, not the machine's network address.

    On Linux Ray otherwise picks the interface that routes outside and registers the node
    there; this switch (read by Ray at import and at call time, and inherited by its worker
    processes) makes it a single-machine cluster on loopback.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False


def pin_loopback() -> None:
    """Keep a multi-node Ray on one machine on 127.0.0.1 (nodes, drivers and their listeners).

    Ray replaces a loopback ``--node-ip-address`` with the machine's routed address so that
    other machines can reach the node; a cluster whose nodes all live here needs no such
    address, and nothing of ours may listen beyond loopback.
    """
    from ray._private import services

    original = services.resolve_ip_for_localhost

    def loopback(host: str) -> str:
        return "127.0.0.1" if services.is_localhost(host) else original(host)

    services.resolve_ip_for_localhost = loopback


def _is_loopback(address: str) -> bool:
    return address.split("://")[-1].startswith(("127.0.0.1:", "localhost:"))


@contextmanager
def keep_sigterm_handler() -> Iterator[None]:
    """Keep the SIGTERM handler the process installed itself across ``ray.init``.

    Ray replaces it with one that calls ``sys.exit``: in a flow-run process that is Prefect's
    bridge, which turns the worker's SIGTERM on cancellation into a Cancelled run (and the
    ``on_cancellation`` hooks); through Ray's handler the run ends Crashed instead.
    """
    main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    finally:
        if callable(before) and signal.getsignal(signal.SIGTERM) is not before:
            signal.signal(signal.SIGTERM, before)


def connect(address: str | None, *, temp_dir: Path | None = None, object_store_mb: int = 256) -> None:
    """Connect once: to ``address`` (or RAY_ADDRESS) if given, else start a local Ray."""
    import ray

    if ray.is_initialized():
        return
    with keep_sigterm_handler():
        _connect(ray, address, temp_dir, object_store_mb)


def _connect(ray: Any, address: str | None, temp_dir: Path | None, object_store_mb: int) -> None:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ensure_bootstrap_config()
    if address or os.environ.get("RAY_ADDRESS"):
        if _is_loopback(address or os.environ.get("RAY_ADDRESS", "")):
            pin_loopback()
        ray.init(address=address or None, namespace=NAMESPACE, log_to_driver=False)
        return
    keep_on_loopback()
    for key, value in STUDIO_NODE_ENV.items():  # this local Ray is also the studio's node
        os.environ.setdefault(key, value)
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
    ray_temp = _short_temp_dir(temp_dir)
    spill = Path(tempfile.mkdtemp(prefix="spill-", dir=temp_dir or ray_temp))
    _owned_dirs.append(spill)
    ray.init(
        address=None,
        namespace=NAMESPACE,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=object_store_mb * 1024 * 1024,
        _temp_dir=str(ray_temp),
        object_spilling_directory=str(spill),
    )


def shutdown() -> None:
    """Stop Ray (when started here) and delete the temp and spill folders we created."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
    for attempt in range(3):  # exiting Ray processes can still write a socket or log file
        for folder in _owned_dirs:
            shutil.rmtree(folder, ignore_errors=True)
        if not any(folder.exists() for folder in _owned_dirs):
            break
        time.sleep(0.5 * (attempt + 1))
    _owned_dirs.clear()
