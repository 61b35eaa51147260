"""Late binding of jobs to actors: a job goes to an actor only when that actor is free.

Drivers (flow runs, each with its own pool object) ask every ready actor for a turn while
their job waits; an actor grants one turn at a time, to the job that has waited longest among
those still asking, and only while it runs nothing. The granted driver then sends its job,
which ends the turn. So no job is ever bound to a busy actor while another actor is idle, and
no central queue has to survive a node loss. Ids and times only: nothing personal is held.
"""

from __future__ import annotations

import threading
import time
from typing import Any

FORGET_S = 1.5  # a job that stopped asking (its driver moved on or died) no longer blocks others
TURN_S = 15.0  # a granted turn whose job never arrives (driver died) is taken back after this
ASK_TIMEOUT_S = 10.0


class Turns:
    """One actor's turn-taking: ``ask`` while waiting, ``arrived`` when the job comes in."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._asking: dict[str, tuple[float, float]] = {}  # job id -> (waiting since, last asked)
        self._granted: tuple[str, float] | None = None  # (job id, when)
        self._running = 0

    def ask(self, job_id: str, waiting_since: float) -> bool:
        """True when this job may send itself here now (the turn is held until it arrives)."""
        now = time.monotonic()
        with self._lock:
            self._asking = {j: a for j, a in self._asking.items() if now - a[1] < FORGET_S}
            if self._granted is not None:
                holder, when = self._granted
                if holder == job_id:
                    return True
                if now - when < TURN_S:
                    self._asking[job_id] = (waiting_since, now)
                    return False
                self._granted = None  # its driver never came: the turn goes to the next job
            self._asking[job_id] = (waiting_since, now)
            if self._running:
                return False
            oldest = min(self._asking, key=lambda j: (self._asking[j][0], j))
            if oldest != job_id:
                return False
            del self._asking[job_id]
            self._granted = (job_id, now)
            return True

    def withdraw(self, job_id: str) -> None:
        """The job found a turn elsewhere (or gave up): stop counting it as waiting here."""
        with self._lock:
            self._asking.pop(job_id, None)
            if self._granted is not None and self._granted[0] == job_id:
                self._granted = None

    def arrived(self, job_id: str) -> None:
        with self._lock:
            self._running += 1
            self._asking.pop(job_id, None)
            if self._granted is not None and self._granted[0] == job_id:
                self._granted = None

    def finished(self) -> None:
        with self._lock:
            self._running -= 1

    def waiting(self) -> int:
        with self._lock:
            return len(self._asking)


def ask_for_turn(actors: dict[str, Any], job_id: str, since: float) -> tuple[str, str] | None:
    """Ask each actor (handle by name) for a turn at once: (name, node id) of the first that
    grants it, in the given order; a second grant at the same moment is handed straight back."""
    import ray

    refs = {name: actor.ask_turn.remote(job_id, since) for name, actor in actors.items()}
    granted: tuple[str, str] | None = None
    for name, ref in refs.items():
        try:
            node = ray.get(ref, timeout=ASK_TIMEOUT_S)
        except Exception:  # a dead or stuck actor grants nothing; the pool's watcher replaces it
            continue
        if node is None:
            continue
        if granted is None:
            granted = (name, str(node))
        else:
            actors[name].withdraw_turn.remote(job_id)
    return granted
