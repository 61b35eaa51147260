"""A pool of named studio actors that keep the base model warm and survive a dead actor."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError

from ray_cluster.capacity import ACTOR_PREFIX, PoolUnavailable, no_turn, pool_size, wanted_names
from ray_cluster.jobs import GenerateJob, GenerateResult, TrainJob, TrainResult
from ray_cluster.progress import train_with_reports
from ray_cluster.turns import ask_for_turn
from ray_cluster.worker import StudioWorker

MAX_ATTEMPTS = 3  # a job survives two dead actors, then the failure is real
TURN_POLL_S = 0.2  # how often a waiting job asks the free-looking actors for a turn
GROW_EVERY_S = 5.0  # how often a GPU pool looks for GPUs (nodes) that joined the cluster
_DEAD = (RayActorError, ActorUnavailableError)
__all__ = ["ACTOR_PREFIX", "PoolUnavailable", "WorkerPool", "pool_size"]


class WorkerPool:
    """Late-binding dispatch over named actors (a job goes to a free actor only); a dead one is
    replaced and its job retried elsewhere.

    An actor takes jobs only once it has answered a ping: a replacement that cannot be placed
    yet (its node is gone) waits in Ray's queue without holding work, and joins the pool when a
    node with a free GPU appears; GPUs that join later grow the pool. No call waits for ever."""

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
        acquire_timeout_s: float = 600.0,
        job_timeout_s: float = 7200.0,
    ) -> None:
        self._args = (base_model, str(models_dir), offline)
        self._options: dict[str, Any] = {
            # Jobs run one at a time behind the actor's own gate; the spare threads answer
            # ping() and load() while a job runs, and let drivers queue jobs there.
            "max_concurrency": 16,
            "num_gpus": gpus_per_actor,  # GPU actors land on GPU nodes only, never the head
            "num_cpus": cpus_per_actor,
            "max_restarts": 0,  # the pool replaces dead actors itself, then retries the job
            "get_if_exists": True,
        }
        if detached:
            # Outlives the driver so that the next flow run finds the model already loaded.
            self._options["lifetime"] = "detached"
        self.acquire_timeout_s = acquire_timeout_s
        self.job_timeout_s = job_timeout_s
        size = pool_size(gpus_per_actor, cpu_actors, ray.cluster_resources())
        self._gpus_per_actor = gpus_per_actor
        self._next_grow = time.monotonic() + GROW_EVERY_S
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._busy: dict[str, int] = {}
        self._actors: dict[str, Any] = {}
        self._ready: set[str] = set()
        self._running_on: dict[str, str] = {}
        self._refs: dict[str, Any] = {}  # job id -> the running call's ObjectRef
        self._closed = False
        self._add(wanted_names(size, self._named_in_cluster()))

    def _named_in_cluster(self) -> list[str]:
        """Studio actors alive or pending in the cluster (shared, detached pools only)."""
        if not self._options.get("lifetime"):
            return []
        try:
            return [str(n) for n in ray.util.list_named_actors()]
        except Exception:
            return []

    def _add(self, names: list[str]) -> None:
        with self._lock:
            fresh = [n for n in names if n not in self._actors and not self._closed]
            for name in fresh:
                self._actors[name] = self._spawn(name)
                self._busy[name] = 0
        for name in fresh:
            self._watch(name, self._actors[name])

    def _grow(self) -> None:
        """A GPU node joined (or came back): add the actors its GPUs hold; they join once alive."""
        if self._gpus_per_actor <= 0 or time.monotonic() < self._next_grow:
            return
        self._next_grow = time.monotonic() + GROW_EVERY_S
        try:
            size = pool_size(self._gpus_per_actor, 0, ray.cluster_resources())
        except RuntimeError:
            return  # no GPU in the cluster right now: the pool keeps what it has
        self._add(wanted_names(size, self._named_in_cluster()))

    def _spawn(self, name: str) -> Any:
        remote = ray.remote(StudioWorker).options(name=name, **self._options)
        return remote.remote(*self._args, name=name)

    def _watch(self, name: str, actor: Any) -> None:
        """Mark the actor ready once it answers; a dead one is replaced, a pending one waits."""

        def wait_alive() -> None:
            ref = actor.ping.remote()
            while True:
                with self._lock:
                    if self._closed or self._actors.get(name) is not actor:
                        return
                done, _ = ray.wait([ref], timeout=1.0)
                if not done:
                    continue
                try:
                    ray.get(ref)
                except _DEAD:
                    self._replace(name, actor)
                    return
                with self._changed:
                    if self._actors.get(name) is actor:
                        self._ready.add(name)
                        self._changed.notify_all()
                return

        threading.Thread(target=wait_alive, name=f"watch-{name}", daemon=True).start()

    @property
    def names(self) -> list[str]:
        return list(self._actors)

    def ready(self) -> list[str]:
        with self._lock:
            return sorted(self._ready)

    def wait_ready(self, timeout_s: float) -> list[str]:
        """Block until every actor has answered its first ping (or the timeout); the ready names."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._grow()
            with self._changed:
                if len(self._ready) >= len(self._actors) or time.monotonic() >= deadline:
                    return sorted(self._ready)
                self._changed.wait(timeout=min(1.0, max(0.0, deadline - time.monotonic())))

    def busy(self) -> dict[str, int]:
        with self._lock:
            return dict(self._busy)

    def ask_ready(self, method: str, timeout_s: float = 30.0) -> dict[str, Any]:
        """Each ready actor's answer to ``node`` (its Ray node id) or ``load`` (jobs queued there
        by any driver), by actor name: ids and counts only, for operators and tests."""
        with self._lock:
            refs = {n: getattr(self._actors[n], method).remote() for n in sorted(self._ready)}
        return {n: ray.get(ref, timeout=timeout_s) for n, ref in refs.items()}

    def _acquire(self, avoid: set[str], job_id: str) -> str:
        """A free ready actor, bound to the job only now (late binding); the lowest index first,
        so that a quiet pool reuses one warm actor. Waits while every actor is busy, at most
        ``job_timeout_s``; gives up after ``acquire_timeout_s`` with no actor alive at all."""
        began = time.monotonic()
        since = time.time()  # the job's place in the shared line (ray_cluster.turns)
        alive_at = began
        asked: set[str] = set()
        try:
            while True:
                self._grow()
                with self._lock:
                    ready = [n for n in self._actors if n in self._ready]
                    candidates = [n for n in ready if n not in avoid] or ready
                    free = [n for n in candidates if self._busy[n] == 0]
                now = time.monotonic()
                if ready:
                    alive_at = now
                if free:
                    asked.update(free)
                    turn = ask_for_turn({n: self._actors[n] for n in free}, job_id, since)
                    if turn is not None:
                        name, node = turn
                        asked.discard(name)
                        with self._lock:
                            self._busy[name] += 1
                            self._running_on[job_id] = node
                        return name
                if now - alive_at > self.acquire_timeout_s or now - began > self.job_timeout_s:
                    raise no_turn(self.acquire_timeout_s, self.job_timeout_s, bool(ready))
                with self._changed:
                    self._changed.wait(timeout=TURN_POLL_S)
        finally:
            for other in asked:  # stop holding a place in the other actors' lines
                with contextlib.suppress(Exception):
                    self._actors[other].withdraw_turn.remote(job_id)

    def _release(self, name: str, job_id: str) -> None:
        with self._changed:
            self._busy[name] -= 1
            self._refs.pop(job_id, None)
            self._changed.notify_all()

    def cancel(self, job_id: str) -> None:
        """Stop a job this pool dispatched: the actor checks between steps and writes nothing."""
        with self._lock:
            ref = self._refs.get(job_id)
        if ref is not None:
            ray.cancel(ref)

    def _replace(self, name: str, dead: Any) -> None:  # dead: an ActorHandle
        """Start a fresh actor under the dead one's name; it takes jobs once it answers."""
        with self._lock:
            if self._closed or name not in self._actors or self._actors[name] is not dead:
                return  # another caller already replaced it
            self._ready.discard(name)
            ray.kill(dead, no_restart=True)
            fresh = self._spawn(name)
            for _ in range(50):
                if fresh._actor_id != dead._actor_id:
                    break
                time.sleep(0.1)  # the name is released once the GCS has seen the death
                fresh = self._spawn(name)
            self._actors[name] = fresh
        self._watch(name, fresh)

    def node_running(self, job_id: str) -> str:
        """The Ray node id of the actor the job was last dispatched to ("" when unknown)."""
        with self._lock:
            return self._running_on.get(job_id, "")

    def _call(self, method: str, job: Any, *args: Any) -> Any:
        tried: set[str] = set()
        last: Exception | None = None
        for _ in range(MAX_ATTEMPTS):
            name = self._acquire(tried, job.job_id)
            actor = self._actors[name]
            try:
                ref = getattr(actor, method).remote(job, *args)
                with self._lock:
                    self._refs[job.job_id] = ref
                return ray.get(ref, timeout=self.job_timeout_s)
            except GetTimeoutError:
                ray.cancel(ref, force=True)
                raise RuntimeError(
                    f"job {job.job_id}: no answer from {name} in {self.job_timeout_s:.0f} s; "
                    "it was cancelled (raise the pool's job_timeout_s for larger models)"
                ) from None
            except _DEAD as error:
                last = error
                tried.add(name)
                self._replace(name, actor)
            except BaseException as stop:
                if not isinstance(stop, Exception):  # SIGTERM or Ctrl-C: the caller goes away
                    self.cancel(job.job_id)
                raise
            finally:
                self._release(name, job.job_id)
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
        return train_with_reports(self.train, job, on_progress, reports, cancel=self.cancel)

    def generate(self, job: GenerateJob) -> GenerateResult:
        """Render a job's headshots on the least busy actor; blocks until they are stored."""
        result: GenerateResult = self._call("generate", job)
        return result

    def base_model_loads(self) -> dict[str, int]:
        """Base-model loads per live actor: 1 each while actors are reused across shoots."""
        refs = {n: actor.base_model_loads.remote() for n, actor in self._actors.items()}
        return {n: int(ray.get(ref, timeout=self.job_timeout_s)) for n, ref in refs.items()}

    def kill_actor(self, name: str) -> None:
        """Kill one actor as a crash would (tests); the pool replaces it on the next failed call."""
        ray.kill(self._actors[name], no_restart=True)

    def close(self) -> None:
        """Kill every actor of this pool (detached ones too)."""
        with self._lock:
            self._closed = True
        for actor in self._actors.values():
            ray.kill(actor, no_restart=True)
        self._actors.clear()
