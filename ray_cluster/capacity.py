"""How many studio actors a Ray cluster holds, and which names the pool should have now."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

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


def no_turn(acquire_timeout_s: float, job_timeout_s: float, any_alive: bool) -> PoolUnavailable:
    """Why a job got no actor: none alive for ``acquire_timeout_s``, or all busy too long."""
    if not any_alive:
        return PoolUnavailable(
            f"no studio actor alive after {acquire_timeout_s:.0f} s: the Ray cluster has no free "
            "GPU node (check `ray status`); the job was not started"
        )
    return PoolUnavailable(
        f"every studio actor stayed busy for {job_timeout_s:.0f} s; the job was not started "
        "(add GPU nodes, or raise the pool's job_timeout_s)"
    )
