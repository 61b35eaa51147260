"""Training progress from inside an actor, back to the caller's thread, through a small Ray queue."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ray_cluster.jobs import TrainJob, TrainResult

Progress = Callable[[int, int, float], None]


def _empty(queue: Any) -> bool:
    try:
        return bool(queue.empty())
    except Exception:
        return True


def train_with_reports(
    train: Callable[[TrainJob, Progress], TrainResult],
    job: TrainJob,
    on_progress: Progress,
    reports: int,
    cancel: Callable[[str], None] | None = None,
) -> TrainResult:
    """Run ``train(job, report)`` and call ``on_progress`` here as the actor reports; a lost queue
    (its node died) only stops the reports, never the training. When this thread is stopped
    (SIGTERM: the flow run was cancelled), ``cancel(job_id)`` stops the actor's job too."""
    from ray.util.queue import Empty, Queue

    # The queue lives on the head node: it holds no GPU work and must outlive a lost GPU node.
    head = {"node:__internal_head__": 0.001}
    queue = Queue(maxsize=4 * reports, actor_options={"num_cpus": 0, "resources": head})
    every = max(1, job.recipe.steps // reports)

    def report(step: int, total: int, loss: float) -> None:  # runs in the actor
        if step % every == 0 or step == total:
            with contextlib.suppress(Exception):  # progress must never fail training
                queue.put_nowait((step, total, loss))

    queue_alive = True

    def drain(timeout: float) -> None:
        nonlocal queue_alive
        if not queue_alive:  # the queue's node died: training goes on without reports
            time.sleep(timeout)
            return
        try:
            step, total, loss = queue.get(timeout=timeout)
        except Empty:
            return
        except Exception:
            queue_alive = False
            return
        on_progress(step, total, loss)

    try:
        with ThreadPoolExecutor(max_workers=1) as runner:
            training = runner.submit(train, job, report)
            try:
                while not training.done():
                    drain(0.5)
            except BaseException as stop:
                if cancel is not None and not isinstance(stop, Exception):
                    cancel(job.job_id)  # before leaving the executor, which waits for the call
                raise
            while queue_alive and not _empty(queue):
                drain(0.1)
            return training.result()
    finally:
        with contextlib.suppress(Exception):
            queue.shutdown()
