"""The studio worker: one warm base model, many shoots. The pool wraps it with ``ray.remote``.

Prompts, keys, images and weights stay in memory for the length of a call; nothing here logs them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ray_cluster.jobs import (
    CLASS_IMAGES,
    GenerateJob,
    GenerateResult,
    RenderRequest,
    StorageSpec,
    TrainJob,
    TrainResult,
)
from ray_cluster.turns import Turns

# torch and diffusers are imported inside the actor only (in the methods below): the flow-run
# processes that create the actors import this module too, and must stay light.
ProgressCallback = Callable[[int, int, float], None]


class JobCancelled(RuntimeError):
    """The caller cancelled the job (its flow run was cancelled): stop and write nothing."""


def stop_if_cancelled() -> None:
    """Raise JobCancelled inside an actor task that ``ray.cancel`` was called on (Ray sets a flag:
    a running task of a threaded actor is never interrupted, so the work checks between steps)."""
    try:
        import ray

        cancelled = ray.is_initialized() and ray.get_runtime_context().is_canceled()
    except (ImportError, RuntimeError):  # outside Ray, or not in an actor task
        cancelled = False
    if cancelled:
        raise JobCancelled("job cancelled by its caller; nothing was written")


def node_id() -> str:
    """The Ray node this worker runs on ("" outside Ray, e.g. on a bare GPU box)."""
    try:
        import ray

        return str(ray.get_runtime_context().get_node_id()) if ray.is_initialized() else ""
    except ImportError:
        return ""


def open_job_store(spec: StorageSpec) -> Any:
    """The job's sealed, fenced view of storage (imported here: a bare GPU box needs none of it)."""
    from headpix.sealing import SealedStore
    from headpix.storage import open_store

    raw = open_store(spec.url, spec.options)
    if spec.data_key is None:
        return raw
    return SealedStore.for_one_key(raw, spec.data_key, fence=spec.fence)


class StudioWorker:
    """Holds the base pipeline; trains identity models and renders headshots from storage keys."""

    def __init__(
        self,
        base_model: str,
        models_dir: str | Path,
        offline: bool,
        name: str = "",
        class_images: int = CLASS_IMAGES,
    ) -> None:
        self.name = name
        self.class_images = class_images
        # Several drivers (flow runs) share one actor: jobs queue on this gate, one at a time,
        # while ping() and load() still answer (the actor runs with a few threads).
        self._gate = threading.Lock()
        self._queued = 0
        self._turns = Turns()  # jobs are sent here only when it is free (ray_cluster.turns)
        # (job id, kind, arrived, started, ended) wall-clock times of recent jobs: ids and
        # times only, for operators and bench/stack.py (queueing and idle gaps per actor).
        self._history: deque[tuple[str, str, float, float, float]] = deque(maxlen=512)
        self._loads = 0
        # Class images are generic (no customer in them), so caching them per class prompt is fine.
        self._class_cache: dict[tuple[str, int], list[Any]] = {}
        self.pipe = self._load(base_model, Path(models_dir), offline)

    def _load(self, base_model: str, models_dir: Path, offline: bool) -> Any:
        from ray_cluster.models import load_pipeline

        self._loads += 1
        return load_pipeline(base_model, models_dir, offline)

    def ping(self) -> str:
        return self.name or "ready"

    def node(self) -> str:
        return node_id()

    def base_model_loads(self) -> int:
        return self._loads

    def load(self) -> int:
        """Jobs running or waiting here, whichever driver sent them."""
        return self._queued

    def history(self) -> list[tuple[str, str, float, float, float]]:
        return list(self._history)

    def ask_turn(self, job_id: str, waiting_since: float) -> str | None:
        """This node's id when the job may be sent here now (this actor is free and the job
        has waited longest of those asking); None while it must keep waiting."""
        return node_id() if self._turns.ask(job_id, waiting_since) else None

    def withdraw_turn(self, job_id: str) -> None:
        self._turns.withdraw(job_id)

    @contextmanager
    def _one_job(self, kind: str, job_id: str) -> Iterator[None]:
        self._queued += 1
        self._turns.arrived(job_id)
        arrived = time.time()
        try:
            with self._gate:
                started = time.time()
                try:
                    yield
                finally:
                    self._history.append((job_id, kind, arrived, started, time.time()))
        finally:
            self._queued -= 1
            self._turns.finished()

    def train(self, job: TrainJob, progress: ProgressCallback | None = None) -> TrainResult:
        """Read the crops, train the identity LoRA, write its weights to job.output_key."""
        with self._one_job("train", job.job_id):
            return self._train(job, progress)

    def _train(self, job: TrainJob, progress: ProgressCallback | None) -> TrainResult:
        from ray_cluster.training import train_identity

        started = time.perf_counter()
        store = open_job_store(job.storage)
        crops = [store.get(key) for key in job.crop_keys]
        class_images: list[Any] = []
        if job.recipe.prior_preservation:
            class_images = self._class_images(job.class_prompt, job.recipe.resolution)

        def step(done: int, total: int, loss: float) -> None:
            stop_if_cancelled()
            if progress is not None:
                progress(done, total, loss)

        weights, losses = train_identity(
            self.pipe,
            crops,
            job.identity_prompt,
            job.class_prompt,
            job.recipe,
            progress=step,
            class_images=class_images,
        )
        stop_if_cancelled()
        store.put(job.output_key, weights)
        del crops, weights
        return TrainResult(
            job_id=job.job_id,
            steps=len(losses),
            losses=losses,
            seconds=time.perf_counter() - started,
            base_model_loads=self._loads,
            actor_name=self.name,
            node_id=node_id(),
        )

    def _class_images(self, class_prompt: str, resolution: int) -> list[Any]:
        """Generated once per (class, resolution) for the life of this actor."""
        from ray_cluster.prior import generate_class_images

        key = (class_prompt, resolution)
        if key not in self._class_cache:
            self._class_cache[key] = generate_class_images(
                self.pipe, class_prompt, self.class_images, resolution
            )
        return self._class_cache[key]

    def generate(self, job: GenerateJob) -> GenerateResult:
        """Render every requested headshot with the job's LoRA and write each to its output key.

        With a reference template in the job, each headshot is scored for likeness and weak
        ones are rendered again (job.likeness); only the scores leave the worker.
        """
        with self._one_job("generate", job.job_id):
            return self._generate(job)

    def _generate(self, job: GenerateJob) -> GenerateResult:
        from ray_cluster.generation import identity_loaded, render_loaded
        from ray_cluster.likeness import render_scored

        started = time.perf_counter()
        store = open_job_store(job.storage)
        lora = store.get(job.lora_key) if job.lora_key else None
        rendered = 0

        def render(requests: Sequence[RenderRequest]) -> list[bytes]:
            nonlocal rendered
            stop_if_cancelled()
            rendered += len(requests)
            return render_loaded(self.pipe, requests, job.inference_steps, job.guidance_scale, job.batch_size)

        with identity_loaded(self.pipe, lora):
            kept = render_scored(render, job.renders, job.reference_template, job.likeness)
        stop_if_cancelled()
        for request, shot in zip(job.renders, kept, strict=True):
            store.put(request.output_key, shot.png)
        return GenerateResult(
            job_id=job.job_id,
            headshot_ids=[r.headshot_id for r in job.renders],
            seconds=time.perf_counter() - started,
            base_model_loads=self._loads,
            actor_name=self.name,
            seeds=[shot.seed for shot in kept],
            likeness=[shot.likeness for shot in kept],
            renders=rendered,
            node_id=node_id(),
        )
