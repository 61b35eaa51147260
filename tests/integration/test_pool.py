"""The actor pool on a local Ray: warm model reuse across shoots, and survival of a killed actor."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from headpix.storage import open_store
from ray_cluster.jobs import (
    GenerateJob,
    RenderRequest,
    StorageSpec,
    TrainJob,
    TrainRecipe,
    TrainResult,
)
from ray_cluster.pool import WorkerPool, pool_size
from ray_cluster.tiny import ensure_tiny_model
from tests.fixtures_ray import ray_local, tiny_models_dir  # noqa: F401


@pytest.fixture(scope="module")
def pool(ray_local: None, tiny_models_dir: Path) -> Iterator[WorkerPool]:  # noqa: F811
    ensure_tiny_model("tiny-sd", tiny_models_dir)  # built once here, not raced by both actors
    workers = WorkerPool(
        "tiny-sd", tiny_models_dir, offline=True, gpus_per_actor=0, cpu_actors=2, cpus_per_actor=0.5
    )
    workers.base_model_loads()  # wait until both actors hold the model
    # ... and until the pool has seen both answer: dispatch picks among ready actors only, so a
    # slow watcher would otherwise send the first job to whichever actor it marked first.
    assert workers.wait_ready(timeout_s=120) == workers.names
    yield workers
    workers.close()


def _shoot(tmp_path: Path, shoot: str, steps: int) -> tuple[StorageSpec, TrainJob]:
    storage = StorageSpec(url=(tmp_path / "objects").as_uri())
    store = open_store(storage.url, storage.options)
    keys = []
    for i, colour in enumerate([(200, 150, 120), (180, 130, 100)]):
        buffer = BytesIO()
        Image.new("RGB", (80, 80), colour).save(buffer, format="PNG")
        keys.append(f"shoots/{shoot}/crops/{i}.png")
        store.put(keys[-1], buffer.getvalue())
    job = TrainJob(
        job_id=shoot,
        storage=storage,
        crop_keys=tuple(keys),
        identity_prompt="a photo of sks woman",
        class_prompt="a photo of a woman",
        output_key=f"shoots/{shoot}/identity.safetensors",
        recipe=TrainRecipe(steps=steps, rank=4, resolution=64, seed=1),
    )
    return storage, job


def test_pool_size_follows_gpus() -> None:
    assert pool_size(0.5, 3, {"GPU": 2.0}) == 4 and pool_size(1, 3, {"GPU": 2.0}) == 2
    assert pool_size(0, 3, {"GPU": 2.0}) == 3
    with pytest.raises(RuntimeError, match="HEADPIX_GPUS_PER_ACTOR"):
        pool_size(1, 1, {})


def test_two_shoots_reuse_one_warm_actor(pool: WorkerPool, tmp_path: Path) -> None:
    actors = set()
    for shoot in ("shoot-a", "shoot-b"):
        storage, job = _shoot(tmp_path, shoot, steps=5)
        trained = pool.train(job)
        renders = tuple(
            RenderRequest(
                f"{shoot}-{i}",
                "studio",
                "portrait of sks woman",
                "blurry",
                seed=i,
                output_key=f"shoots/{shoot}/headshots/{i}.png",
            )
            for i in range(3)
        )
        made = pool.generate(
            GenerateJob(
                job_id=shoot,
                storage=storage,
                lora_key=job.output_key,
                renders=renders,
                inference_steps=2,
                batch_size=2,
            )
        )
        assert len(trained.losses) == 5 and made.headshot_ids == [r.headshot_id for r in renders]
        store = open_store(storage.url)
        assert all(
            Image.open(BytesIO(store.get(r.output_key))).info["ai_generated"] == "true" for r in renders
        )
        actors |= {trained.actor_name, made.actor_name}
    assert actors == {"headpix-studio-0"}  # an idle pool keeps using its first warm actor
    assert pool.base_model_loads() == {"headpix-studio-0": 1, "headpix-studio-1": 1}


def test_studio_actors_keep_the_drivers_priority(pool: WorkerPool) -> None:
    """Ray renices its workers to 15 unless told otherwise; the actors are the node's work."""
    import os

    import ray

    def niceness(_: object) -> int:
        return os.getpriority(os.PRIO_PROCESS, 0)

    actors = [pool._actors[name] for name in pool.names]
    seen = ray.get([actor.__ray_call__.remote(niceness) for actor in actors], timeout=60)
    assert seen == [os.getpriority(os.PRIO_PROCESS, 0)] * len(actors), seen


def test_jobs_from_two_drivers_wait_for_a_free_actor_never_at_a_busy_one(
    pool: WorkerPool,
    ray_local: None,  # noqa: F811
    tiny_models_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Two pool objects over the same named actors stand for two flow runs. Four jobs at once on
    two actors: two run, two wait in their drivers and are bound to whichever actor frees first,
    so no job ever queues at an actor (arrived == started in the actor's own history)."""
    other_driver = WorkerPool(
        "tiny-sd", tiny_models_dir, offline=True, gpus_per_actor=0, cpu_actors=2, cpus_per_actor=0.5
    )
    assert other_driver.wait_ready(timeout_s=60) == pool.names  # the same actors, by name
    jobs = [
        (driver, _shoot(tmp_path, f"line-{i}", steps=6 + 6 * i)[1])
        for i, driver in enumerate([pool, other_driver, pool, other_driver])
    ]
    start = threading.Barrier(len(jobs))
    results: dict[str, TrainResult | BaseException] = {}

    def run(driver: WorkerPool, job: TrainJob) -> None:
        start.wait()
        try:
            results[job.job_id] = driver.train(job)
        except BaseException as error:  # surfaced by the assertion below
            results[job.job_id] = error

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert all(isinstance(r, TrainResult) for r in results.values()) and len(results) == 4, results
    ours = {job.job_id for _, job in jobs}
    history = [h for entries in pool.ask_ready("history").values() for h in entries if h[0] in ours]
    assert len(history) == 4, history
    queued = {job_id: round(started - arrived, 2) for job_id, _, arrived, started, _ in history}
    assert max(queued.values()) < 0.5, f"a job queued at a busy actor (seconds): {queued}"
    assert {r.actor_name for r in results.values() if isinstance(r, TrainResult)} == set(pool.names)


def test_killed_actor_mid_training_job_still_done(pool: WorkerPool, tmp_path: Path) -> None:
    storage, job = _shoot(tmp_path, "shoot-c", steps=150)
    results: list[TrainResult | BaseException] = []

    def run() -> None:
        try:
            results.append(pool.train(job))
        except BaseException as error:  # surfaced by the assertion below
            results.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while not any(pool.busy().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = max(pool.busy().items(), key=lambda item: item[1])[0]
    time.sleep(1.5)  # well inside the 150 training steps
    pool.kill_actor(victim)
    thread.join(timeout=120)
    assert len(results) == 1 and isinstance(results[0], TrainResult), results
    assert results[0].actor_name != victim and len(results[0].losses) == 150
    assert open_store(storage.url).exists(job.output_key)
    loads = pool.base_model_loads()  # the replacement answers under the dead actor's name
    assert set(loads) == {"headpix-studio-0", "headpix-studio-1"} and all(n == 1 for n in loads.values())
