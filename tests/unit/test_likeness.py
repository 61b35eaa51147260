"""Likeness scores: the worker's own scoring and re-render function, fed known images."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pytest
from PIL import Image

from headpix import likeness
from headpix.intake import IntakeRules, PhotoInput, check_photos
from headpix.intake.identity import template_from_crops
from headpix.settings import load_settings
from ray_cluster.jobs import GenerateJob, LikenessPolicy, RenderRequest, StorageSpec
from ray_cluster.likeness import render_scored, rerender_seed
from tests.unit import faces_corpus as faces

OTHER_SEEDS = {2, 5}  # the stub renders Grace Hopper for these seeds: someone else


def png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).resize((512, 512)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def customer() -> tuple[bytes, list[bytes]]:
    """The shoot's reference template (from its crops) and other crops of the same customer."""
    shots = faces.astronaut_shots(8, seed=31)
    report = check_photos([PhotoInput(f"{i}.jpg", d, len(d)) for i, d in enumerate(shots)], IntakeRules())
    crops = [v.crop for v in report.photos if v.crop is not None]
    template = template_from_crops(crops[:5])
    assert template is not None
    return template.to_bytes(), crops[5:]


class StubStudio:
    """Renders known images: the customer's own crops, or Grace Hopper for OTHER_SEEDS."""

    def __init__(self, own: list[bytes], others: set[int] = OTHER_SEEDS) -> None:
        self.own, self.others = own, others
        self.calls: list[list[int]] = []

    def __call__(self, requests: Sequence[RenderRequest]) -> list[bytes]:
        self.calls.append([r.seed for r in requests])
        return [
            png(faces.hopper_image()) if r.seed in self.others else self.own[r.seed % len(self.own)]
            for r in requests
        ]


def requests(seeds: list[int]) -> list[RenderRequest]:
    return [RenderRequest(f"h{s}", "studio", "p", "n", s, f"k{s}") for s in seeds]


def test_own_face_scores_high_someone_else_low_and_is_rendered_again(customer) -> None:
    template, own = customer
    studio = StubStudio(own)
    kept = render_scored(studio, requests([1, 2, 3, 5]), template, LikenessPolicy(threshold=0.5, rerenders=2))
    assert [shot.likeness is not None and shot.likeness >= 0.6 for shot in kept] == [True] * 4
    assert studio.calls[0] == [1, 2, 3, 5]
    assert studio.calls[1] == [rerender_seed(2, 1), rerender_seed(5, 1)]  # only the weak ones
    assert len(studio.calls) == 2  # the re-renders showed the customer: no third round
    assert [shot.seed for shot in kept] == [1, rerender_seed(2, 1), 3, rerender_seed(5, 1)]
    assert [shot.renders for shot in kept] == [1, 2, 1, 2]


def test_re_renders_are_bounded_and_keep_the_best(customer) -> None:
    template, own = customer
    studio = StubStudio(own, others={2, rerender_seed(2, 1), rerender_seed(2, 2)})
    kept = render_scored(studio, requests([2]), template, LikenessPolicy(threshold=0.5, rerenders=2))
    assert len(studio.calls) == 3  # first render and two re-renders, then it stops
    assert kept[0].likeness is not None and kept[0].likeness < 0.5 and kept[0].renders == 3


def test_score_only_policy_never_re_renders(customer) -> None:
    template, own = customer
    studio = StubStudio(own)
    kept = render_scored(studio, requests([2, 3]), template, LikenessPolicy(threshold=0.5, rerenders=0))
    assert len(studio.calls) == 1
    assert kept[0].likeness is not None and kept[0].likeness < 0.5 < 0.6 <= (kept[1].likeness or 0)
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    blank = render_scored(lambda rs: [png(noise) for _ in rs], requests([9]), template, LikenessPolicy())
    assert blank[0].likeness == 0.0  # no face: scored 0
    unscored = render_scored(studio, requests([3]), None, LikenessPolicy(rerenders=2))
    assert unscored[0].likeness is None


def test_tiny_model_scores_but_never_re_renders(tmp_path) -> None:
    assert likeness.likeness_policy(load_settings(home=tmp_path)).rerenders == 0
    real = load_settings(home=tmp_path, base_model="/models/sd15", likeness_rerenders=3)
    assert likeness.likeness_policy(real) == LikenessPolicy(threshold=0.5, rerenders=3)


def test_template_travels_in_the_job_but_never_in_its_repr() -> None:
    job = GenerateJob("s", StorageSpec("file:///x"), "k", (), reference_template=b"SECRET-TEMPLATE")
    assert "SECRET-TEMPLATE" not in repr(job)


def test_operators_see_ids_and_scores_and_a_flag_when_the_median_stays_low() -> None:
    summary = likeness.LikenessSummary("shoot-1", (("h1", 0.31), ("h2", 0.44), ("h3", 0.72)), 0.44, 0.5, True)
    assert likeness.operator_table(summary) == [
        {"headshot": "h1", "likeness": 0.31},
        {"headshot": "h2", "likeness": 0.44},
        {"headshot": "h3", "likeness": 0.72},
    ]
    flag = likeness.flag_markdown(summary)
    assert flag is not None and "shoot-1" in flag and "0.44" in flag and "2 of 3" in flag
    assert "honest note" in " ".join(likeness.customer_note(summary))
    fine = likeness.LikenessSummary("shoot-2", (("h1", 0.8),), 0.8, 0.5, True)
    assert likeness.flag_markdown(fine) is None and "0.80" in likeness.customer_note(fine)[0]
    tiny = likeness.LikenessSummary("shoot-3", (("h1", 0.0),), 0.0, 0.5, False)
    assert likeness.flag_markdown(tiny) is None and "noise" in " ".join(likeness.customer_note(tiny))
    assert likeness.median([0.2, None, 0.6, 0.4]) == 0.4 and likeness.median([None]) is None
