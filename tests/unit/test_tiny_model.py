"""Tiny offline models: tokenizer, idempotent builds, family detection, step time."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest
from PIL import Image

from ray_cluster.jobs import TrainRecipe
from ray_cluster.models import BaseModelError, load_pipeline, pipeline_family, resolve_base_model
from ray_cluster.tiny import ensure_tiny_model, write_clip_tokenizer
from ray_cluster.training import train_identity
from tests.fixtures_ray import tiny_models_dir  # noqa: F401


def test_tokenizer_reads_english(tmp_path: Path) -> None:
    from transformers import CLIPTokenizer

    size = write_clip_tokenizer(tmp_path)
    tokenizer = CLIPTokenizer.from_pretrained(str(tmp_path), model_max_length=77)
    ids = tokenizer("a professional photo of a smiling woman").input_ids
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert max(ids) < size and len(ids) < 20
    assert (
        tokenizer.decode(ids, skip_special_tokens=True).strip() == "a professional photo of a smiling woman"
    )


def test_ensure_tiny_model_is_idempotent_and_race_safe(tmp_path: Path) -> None:
    found: list[Path] = []
    threads = [
        threading.Thread(target=lambda: found.append(ensure_tiny_model("tiny-sd", tmp_path)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 2 and found[0] == found[1]
    stamp = (found[0] / "model_index.json").stat().st_mtime_ns
    assert ensure_tiny_model("tiny-sd", tmp_path) == found[0]
    assert (found[0] / "model_index.json").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [found[0].name]  # no temp folders left behind


@pytest.mark.parametrize(
    ("name", "family"),
    [("tiny-sd", "StableDiffusionPipeline"), ("tiny-sdxl", "StableDiffusionXLPipeline")],
)
def test_family_comes_from_model_config(tiny_models_dir: Path, name: str, family: str) -> None:  # noqa: F811
    source = resolve_base_model(name, tiny_models_dir, offline=True)
    assert pipeline_family(source, offline=True) == family
    assert type(load_pipeline(source, tiny_models_dir, offline=True)).__name__ == family


def test_missing_base_model_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(BaseModelError, match="HEADPIX_BASE_MODEL"):
        resolve_base_model(str(tmp_path / "nowhere"), tmp_path, offline=True)
    with pytest.raises(BaseModelError, match="HEADPIX_BASE_MODEL=someone/not-cached"):
        load_pipeline("someone/not-cached", tmp_path, offline=True)


def test_tiny_training_runs_every_step_on_cpu(tiny_models_dir: Path) -> None:  # noqa: F811
    """Speed is measured in bench/, never asserted here: this checks the steps really ran."""
    pipe = load_pipeline("tiny-sd", tiny_models_dir, offline=True)
    images = [Image.new("RGB", (64, 64), (200, 150, 120))]
    weights, losses = train_identity(
        pipe,
        images,
        "a photo of sks woman",
        "a photo of a woman",
        TrainRecipe(steps=10, resolution=64),
    )
    assert len(losses) == 10 and all(math.isfinite(loss) for loss in losses)
    assert weights
