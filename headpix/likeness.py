"""Likeness of a shoot's headshots: the policy, the scores kept, what operators and customers see.

Only numbers live here: a 0-1 score per headshot and the shoot's median. The reference face
they were measured against stays sealed in storage (see ``headpix.intake.identity``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from headpix.settings import TINY_MODEL, TINY_XL_MODEL, Settings
from ray_cluster.jobs import LikenessPolicy
from schemas.models import Photoshoot


def is_tiny(settings: Settings) -> bool:
    return settings.base_model in (TINY_MODEL, TINY_XL_MODEL)


def likeness_policy(settings: Settings) -> LikenessPolicy:
    """Re-render weak headshots with real base models only.

    The tiny random-weight model renders noise: its headshots show no face and score 0 by
    nature, so re-rendering them would only burn time. They are still scored.
    """
    rerenders = 0 if is_tiny(settings) else settings.likeness_rerenders
    return LikenessPolicy(threshold=settings.likeness_threshold, rerenders=rerenders)


@dataclass(frozen=True)
class LikenessSummary:
    """A shoot's scores (headshot id, score) in headshot order, and how to read them."""

    shoot_id: str
    scores: tuple[tuple[str, float], ...]
    median: float | None
    threshold: float
    enforced: bool  # re-renders and the low-likeness flag apply (real base models)

    @property
    def below(self) -> int:
        return sum(score < self.threshold for _, score in self.scores)

    @property
    def low(self) -> bool:
        """The shoot's median stayed under the threshold (with a real base model)."""
        return self.enforced and self.median is not None and self.median < self.threshold


def summarise(shoot: Photoshoot, settings: Settings) -> LikenessSummary:
    scores = tuple((h.id, h.likeness) for h in shoot.headshots if h.likeness is not None)
    return LikenessSummary(
        shoot_id=shoot.id,
        scores=scores,
        median=shoot.likeness_median,
        threshold=settings.likeness_threshold,
        enforced=not is_tiny(settings),
    )


def operator_table(summary: LikenessSummary) -> list[dict[str, str | float]]:
    """Rows for the operators' artifact: headshot ids and scores, nothing else."""
    return [{"headshot": headshot_id, "likeness": round(score, 3)} for headshot_id, score in summary.scores]


def flag_markdown(summary: LikenessSummary) -> str | None:
    """The operators' alert for a shoot whose median stayed low; None when there is none."""
    if not summary.low or summary.median is None:
        return None
    return (
        f"# Low likeness: shoot {summary.shoot_id}\n\n"
        f"- median likeness: **{summary.median:.2f}** (threshold {summary.threshold:.2f})\n"
        f"- headshots under the threshold after re-renders: {summary.below} of {len(summary.scores)}\n\n"
        "Review the shoot's identity model and photos; the customer was told in the delivery email.\n"
    )


def customer_note(summary: LikenessSummary) -> list[str]:
    """What the delivery email says about likeness, honestly; no lines when nothing was scored."""
    if summary.median is None:
        return []
    if not summary.enforced:
        return [
            "Likeness check: each headshot was compared with your photos. The demo model renders",
            "noise rather than faces, so every score is low; with a real model weak headshots are",
            "rendered again.",
        ]
    total = len(summary.scores)
    if summary.low:
        return [
            "An honest note: most of your headshots do not look as much like you as we aim for",
            f"(likeness {summary.median:.2f} of 1; we aim for {summary.threshold:.2f} or more), even after",
            "we rendered the weakest ones again. Our team has been alerted and will review your shoot.",
        ]
    lines = [
        f"Every headshot was checked against your photos for likeness (median {summary.median:.2f} of 1)."
    ]
    if summary.below:
        lines.append(
            f"{summary.below} of {total} still scored under our bar after being rendered again; "
            "they are in your gallery too."
        )
    return lines


def median(scores: Sequence[float | None]) -> float | None:
    """Median of the scores that exist."""
    values = sorted(s for s in scores if s is not None)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2.0
