"""How many studio actors a Ray cluster holds, and which names the pool should have now."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

ACTOR_PREFIX = "headpix-studio"


class PoolUnavailable(RuntimeError):
    """No studio actor came alive in time: the cluster lacks a free GPU node."""


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


def wanted_names(size: int, existing: Iterable[str] = ()) -> list[str]:
    """``size`` actor names, plus any studio actor already alive in the cluster under a higher
    index: a pool started while a GPU node was down still finds the actors placed before."""
    indexes = set(range(size))
    for name in existing:
        match = re.fullmatch(rf"{ACTOR_PREFIX}-(\d+)", name)
        if match:
            indexes.add(int(match.group(1)))
    return [f"{ACTOR_PREFIX}-{i}" for i in sorted(indexes)]


def remote_loads(actors: dict[str, Any]) -> dict[str, int]:
    """Jobs queued at each actor by every driver: detached pools are shared by flow runs."""
    import ray

    if len(actors) < 2:
        return dict.fromkeys(actors, 0)
    refs = {n: actor.load.remote() for n, actor in actors.items()}
    done, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=2.0)
    loads: dict[str, int] = {}
    for name, ref in refs.items():
        try:
            loads[name] = int(ray.get(ref, timeout=0)) if ref in done else 1_000
        except Exception:
            loads[name] = 1_000  # dead or unreachable: last choice; the call will tell
    return loads
