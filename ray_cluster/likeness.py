"""Likeness of rendered headshots to the shoot's reference face, with bounded re-renders.

Runs inside the studio worker: the reference template arrives in the job, in memory, and
each render's face descriptor is compared with it and dropped. Only a 0-1 score per
headshot leaves this module. Headshots under the policy's threshold are rendered again with
new seeds, at most ``policy.rerenders`` times each; the best-scoring render is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from io import BytesIO

import numpy as np
from PIL import Image

from headpix.intake.identity import ReferenceTemplate, distance, largest_face_descriptor, likeness
from ray_cluster.jobs import LikenessPolicy, RenderRequest

# Seeds of re-renders step by a large prime so that they never meet another headshot's seed.
SEED_STEP = 1_000_003
_SEED_LIMIT = 2**31  # seeds are stored in a 32-bit column

RenderFn = Callable[[Sequence[RenderRequest]], list[bytes]]


@dataclass(frozen=True)
class ScoredHeadshot:
    """One headshot as kept: its PNG, the seed that made it, its likeness (None: not scored)."""

    png: bytes = field(repr=False)
    seed: int
    likeness: float | None
    renders: int = 1


def rerender_seed(seed: int, attempt: int) -> int:
    """The seed of the attempt-th re-render of a headshot first rendered with seed."""
    return (seed + attempt * SEED_STEP) % _SEED_LIMIT


def score_png(png: bytes, template: ReferenceTemplate) -> float:
    """0-1 likeness of the largest face in a PNG to the template; 0 when it shows no face."""
    with Image.open(BytesIO(png)) as image:
        rgb = np.asarray(image.convert("RGB"))
    found = largest_face_descriptor(rgb)
    return likeness(None if found is None else distance(found, template.vector))


def render_scored(
    render: RenderFn,
    renders: Sequence[RenderRequest],
    template_bytes: bytes | None,
    policy: LikenessPolicy,
) -> list[ScoredHeadshot]:
    """Render every request, score each against the template, re-render weak ones; request order."""
    images = render(renders)
    if template_bytes is None:
        return [ScoredHeadshot(png, r.seed, None) for r, png in zip(renders, images, strict=True)]
    template = ReferenceTemplate.from_bytes(template_bytes)
    kept = [
        ScoredHeadshot(png, r.seed, score_png(png, template)) for r, png in zip(renders, images, strict=True)
    ]
    for attempt in range(1, policy.rerenders + 1):
        weak = [i for i, shot in enumerate(kept) if (shot.likeness or 0.0) < policy.threshold]
        if not weak:
            break
        retries = [replace(renders[i], seed=rerender_seed(renders[i].seed, attempt)) for i in weak]
        for index, retry, png in zip(weak, retries, render(retries), strict=True):
            score = score_png(png, template)
            best = kept[index]
            if score > (best.likeness or 0.0):
                kept[index] = ScoredHeadshot(png, retry.seed, score, best.renders + 1)
            else:
                kept[index] = replace(best, renders=best.renders + 1)
    del template
    return kept


def median_likeness(scores: Sequence[float | None]) -> float | None:
    """The shoot's median likeness, or None when nothing was scored."""
    values = [s for s in scores if s is not None]
    return float(np.median(values)) if values else None
