"""A pool of named studio actors that keep the base model warm and survive a dead actor."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import ray
from ray.exceptions import ActorUnavailableError, RayActorError

from ray_cluster.jobs import GenerateJob, GenerateResult, TrainJob, TrainResult
from ray_cluster.worker import StudioWorker

ACTOR_PREFIX = "headpix-studio"
MAX_ATTEMPTS = 3  # a job survives two dead actors, then the failure is real
_DEAD = (RayActorError, ActorUnavailableError)
R = TypeVar("R")


def pool_size(gpus_per_actor: float, cpu_actors: int, resources: dict[str, float]) -> int:
    """Actors that fit the cluster's GPUs (fractional GPUs allowed), or cpu_actors without GPUs."""
    gpus = resources.get("GPU", 0.0)
    if gpus_per_actor > 0:
        if gpus < gpus_per_actor:
            raise RuntimeError(
                f"HEADPIX_GPUS_PER_ACTOR={gpus_per_actor} but the Ray cluster has {gpus:g} GPUs; "
                "lower it or set it to 0 to run on CPU"
            )
        return max(1, math.floor(gpus / gpus_per_actor + 1e-9))
    return cpu_actors


class WorkerPool:
    """Least-busy dispatch over named actors; a dead one is replaced, its job retried elsewhere."""

    def __init__(
        self,
        base_model: str,
        models_dir: Path,
        offline: bool,
        gpus_per_actor: float = 0.0,
        cpu_actors: int = 1,
        *,
        cpus_per_actor: float = 1.0,
        detached: bool = False,
    ) -> None:
        self._args = (base_model, str(models_dir), offline)
        self._options: dict[str, Any] = {
            "max_concurrency": 1,  # one job per actor at a time: one pipeline, one LoRA
            "num_gpus": gpus_per_actor,
            "num_cpus": cpus_per_actor,
            "max_restarts": 0,  # the pool replaces dead actors itself, then retries the job
            "get_if_exists": True,
        }
        if detached:
            # Outlives the driver so that the next flow run finds the model already loaded.
            self._options["lifetime"] = "detached"
        size = pool_size(gpus_per_actor, cpu_actors, ray.cluster_resources())
        self._lock = threading.Lock()
        self._busy: dict[str, int] = {}
        self._served: dict[str, int] = {}
        self._actors: dict[str, Any] = {}
        for index in range(size):
            name = f"{ACTOR_PREFIX}-{index}"
            self._actors[name] = self._spawn(name)
            self._busy[name] = 0
            self._served[name] = 0

    def _spawn(self, name: str) -> Any:
        remote = ray.remote(StudioWorker).options(name=name, **self._options)
        return remote.remote(*self._args, name=name)

    @property
    def names(self) -> list[str]:
        return list(self._actors)

    def busy(self) -> dict[str, int]:
        with self._lock:
            return dict(self._busy)

    def _acquire(self, avoid: set[str]) -> str:
        """Least busy first; ties go to the lowest index, so a quiet pool reuses one warm actor."""
        with self._lock:
            candidates = [n for n in self._actors if n not in avoid] or list(self._actors)
            name = min(candidates, key=lambda n: self._busy[n])
            self._busy[name] += 1
            return name

    def _release(self, name: str) -> None:
        with self._lock:
            self._busy[name] -= 1
            self._served[name] += 1

    def _replace(self, name: str, dead: Any) -> None:  # dead: an ActorHandle
        """Start a fresh actor under the dead one's name (its model loads in the background)."""
        with self._lock:
            if name not in self._actors or self._actors[name] is not dead:
                return  # another caller already replaced it
            ray.kill(dead, no_restart=True)
            fresh = self._spawn(name)
            for _ in range(50):
                if fresh._actor_id != dead._actor_id:
                    break
                time.sleep(0.1)  # the name is released once the GCS has seen the death
                fresh = self._spawn(name)
            self._actors[name] = fresh

    def _call(self, method: str, job: Any, *args: Any) -> Any:
        tried: set[str] = set()
        last: Exception | None = None
        for _ in range(MAX_ATTEMPTS):
            name = self._acquire(tried)
            actor = self._actors[name]
            try:
                return ray.get(getattr(actor, method).remote(job, *args))
            except _DEAD as error:
                last = error
                tried.add(name)
                self._replace(name, actor)
            finally:
                self._release(name)
        raise RuntimeError(f"job {job.job_id}: {MAX_ATTEMPTS} actors died running it") from last

    def train(self, job: TrainJob, progress: Callable[[int, int, float], None] | None = None) -> TrainResult:
        """Train an identity model on the least busy actor; blocks until the weights are stored.

        ``progress`` runs inside the actor (it must be serialisable); see ``train_reporting``.
        """
        result: TrainResult = self._call("train", job, *([progress] if progress else []))
        return result

    def train_reporting(
        self, job: TrainJob, on_progress: Callable[[int, int, float], None], reports: int = 20
    ) -> TrainResult:
        """Train, calling ``on_progress(step, total, loss)`` here, in the caller's thread, about
        ``reports`` times as the actor trains (steps and losses only: nothing personal)."""
        from ray.util.queue import Empty, Queue

        queue = Queue(maxsize=4 * reports, actor_options={"num_cpus": 0})
        every = max(1, job.recipe.steps // reports)

        def report(step: int, total: int, loss: float) -> None:  # runs in the actor
            if step % every == 0 or step == total:
                with contextlib.suppress(Exception):  # progress must never fail training
                    queue.put_nowait((step, total, loss))

        def drain(timeout: float) -> None:
            with contextlib.suppress(Empty):
                step, total, loss = queue.get(timeout=timeout)
                on_progress(step, total, loss)

        try:
            with ThreadPoolExecutor(max_workers=1) as runner:
                training = runner.submit(self.train, job, report)
                while not training.done():
                    drain(0.5)
                while not queue.empty():
                    drain(0.1)
                return training.result()
        finally:
            queue.shutdown()

    def generate(self, job: GenerateJob) -> GenerateResult:
        """Render a job's headshots on the least busy actor; blocks until they are stored."""
        result: GenerateResult = self._call("generate", job)
        return result

    def base_model_loads(self) -> dict[str, int]:
        """Base-model loads per live actor: 1 each while actors are reused across shoots."""
        names = list(self._actors)
        counts = ray.get([self._actors[n].base_model_loads.remote() for n in names])
        return dict(zip(names, counts, strict=True))

    def served(self) -> dict[str, int]:
        with self._lock:
            return dict(self._served)

    def kill_actor(self, name: str) -> None:
        """Kill one actor as a crash would (tests); the pool replaces it on the next failed call."""
        ray.kill(self._actors[name], no_restart=True)

    def close(self) -> None:
        """Kill every actor of this pool (detached ones too)."""
        for actor in self._actors.values():
            ray.kill(actor, no_restart=True)
        self._actors.clear()
