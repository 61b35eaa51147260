"""A driver of the stack's Ray cluster, run as a client process by the stack tests.

    python -m tests.stack.pool_probe outage      # (stdin: "go" when the stack is quiet)
    python -m tests.stack.pool_probe residue SHOOT_ID

``outage``: wait until the cluster has lost a GPU node, start a shoot's actor pool (exactly as a
flow run does, from the stack's settings) while it is gone, report the pool, then wait for the
pool to grow back to both GPU nodes and report each actor's node. On "go" (read from stdin once
the other shoots are done), wait until no actor holds a job, then send two training jobs at once
and report the node each ran on. ``residue``: object versions left under a shoot's prefix, by
subfolder. Prints one JSON object a line; ids and counts only.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from io import BytesIO
from typing import Any

GROW_TIMEOUT_S = 420


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def _until(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise SystemExit(f"timed out after {timeout_s:.0f} s waiting for {what}")


def outage() -> None:
    import ray
    from PIL import Image

    from headpix.settings import load_settings
    from headpix.storage import open_store
    from ray_cluster import runtime
    from ray_cluster.jobs import StorageSpec, TrainJob, TrainRecipe
    from ray_cluster.pool import WorkerPool

    settings = load_settings()
    runtime.connect(settings.ray_address)
    _until(lambda: ray.cluster_resources().get("GPU", 0) < 2, 120, "the cluster to lose a GPU node")
    pool = WorkerPool(
        settings.base_model,
        settings.models_dir,
        settings.offline,
        gpus_per_actor=settings.gpus_per_actor,
        detached=True,
        acquire_timeout_s=GROW_TIMEOUT_S,
    )
    emit("created", gpus=ray.cluster_resources().get("GPU", 0), names=pool.names)
    deadline = time.monotonic() + GROW_TIMEOUT_S
    ready = pool.wait_ready(GROW_TIMEOUT_S)
    while len(ready) < 2 and time.monotonic() < deadline:  # a node that joins adds names
        time.sleep(1)
        ready = pool.wait_ready(max(1.0, deadline - time.monotonic()))
    emit("grown", ready=ready, nodes=pool.ask_ready("node"))
    if sys.stdin.readline().strip() != "go":
        return
    _until(lambda: not any(pool.ask_ready("load").values()), 300, "the actors to finish other jobs")
    store = open_store(settings.resolved_storage_url, settings.storage_options)
    spec = StorageSpec(settings.resolved_storage_url, settings.storage_options)
    prefix = f"probe/{time.time_ns()}/"
    jobs = []
    for index in range(2):
        buffer = BytesIO()
        Image.new("RGB", (80, 80), (200 - 20 * index, 150, 120)).save(buffer, format="PNG")
        store.put(f"{prefix}{index}/crop.png", buffer.getvalue())
        recipe = TrainRecipe(steps=3, rank=4, resolution=64, seed=index)
        jobs.append(
            TrainJob(
                job_id=f"probe-{index}",
                storage=spec,
                crop_keys=(f"{prefix}{index}/crop.png",),
                identity_prompt="a photo of sks woman",
                class_prompt="a photo of a woman",
                output_key=f"{prefix}{index}/identity.safetensors",
                recipe=recipe,
            )
        )
    nodes: list[str] = []
    threads = [threading.Thread(target=lambda j=job: nodes.append(pool.train(j).node_id)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=GROW_TIMEOUT_S)
    store.delete_prefix(prefix)
    emit("jobs", nodes=nodes)


def residue(shoot_id: str) -> None:
    from headpix.app.wiring import build_services
    from headpix.settings import load_settings
    from headpix.shoots import load_shoot
    from headpix.storage import Keys

    services = build_services(load_settings())
    with services.db.session() as session:
        root = Keys.shoot(load_shoot(session, shoot_id).customer_id, shoot_id)
    store = services.raw_store
    folders = {key[len(root) :].split("/", 1)[0] for key in store.list(root)}
    folders |= {"originals", "crops", "identity", "headshots"}
    emit("residue", versions={f: store.version_count(f"{root}{f}/") for f in sorted(folders)})


if __name__ == "__main__":
    if sys.argv[1] == "outage":
        outage()
    else:
        residue(sys.argv[2])
