"""LoRA training and generation on the tiny models: learning, exact unloading, seeds, markers."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.torch
import torch
from PIL import Image

from ray_cluster.generation import TRAINED_ALGORITHMIC_MEDIA, render_headshots
from ray_cluster.jobs import RenderRequest, TrainRecipe
from ray_cluster.models import load_pipeline
from ray_cluster.training import (
    default_recipe,
    default_steps,
    fixed_batch_loss,
    identity_prompts,
    train_identity,
)
from tests.fixtures_ray import tiny_models_dir  # noqa: F401

IDENTITY, CLASS = identity_prompts("woman")
RECIPE = TrainRecipe(steps=40, rank=4, learning_rate=3e-3, resolution=64, seed=3)


def _faces() -> list[bytes]:
    """Two synthetic 'crops': smooth gradients, encoded as PNG like the stored crops."""
    out = []
    for shade in (0, 40):
        y, x = np.mgrid[0:96, 0:96]
        rgb = np.stack([150 + x // 2, 120 + y // 3 + shade, 100 + (x + y) // 6], axis=-1).astype(np.uint8)
        buffer = BytesIO()
        Image.fromarray(rgb).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


@pytest.fixture(scope="module")
def sd_pipe(tiny_models_dir: Path) -> Any:  # noqa: F811
    return load_pipeline("tiny-sd", tiny_models_dir, offline=True)


@pytest.fixture(scope="module")
def trained(sd_pipe: Any) -> tuple[bytes, list[float], float]:
    before = fixed_batch_loss(sd_pipe, _faces(), IDENTITY, 64)
    weights, losses = train_identity(sd_pipe, _faces(), IDENTITY, CLASS, RECIPE)
    return weights, losses, before


def _renders(n: int = 3) -> list[RenderRequest]:
    return [
        RenderRequest(
            f"h{i}",
            "studio" if i % 2 else "corporate",
            f"portrait of sks woman {i}",
            "blurry",
            seed=100 + i,
            output_key=f"k/{i}.png",
        )
        for i in range(n)
    ]


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(png)).convert("RGB"))


def test_default_steps_scale_with_photos() -> None:
    assert default_steps(1) == 400 and default_steps(8) == 800 and default_steps(40) == 1200
    assert default_recipe(10, sdxl=True).resolution == 1024 and default_recipe(10).steps == 1000


def test_training_lowers_loss_on_a_fixed_batch(
    sd_pipe: Any, trained: tuple[bytes, list[float], float]
) -> None:
    weights, losses, before = trained
    assert len(losses) == RECIPE.steps and all(np.isfinite(losses))
    sd_pipe.load_lora_weights(safetensors.torch.load(weights), adapter_name="identity")
    try:
        after = fixed_batch_loss(sd_pipe, _faces(), IDENTITY, 64)
    finally:
        sd_pipe.unload_lora_weights()
    assert after < before


def test_training_leaves_unet_untouched_and_is_reproducible(
    sd_pipe: Any, trained: tuple[bytes, list[float], float]
) -> None:
    state = {k: v.clone() for k, v in sd_pipe.unet.state_dict().items()}
    short = TrainRecipe(steps=5, rank=4, learning_rate=1e-3, resolution=64, seed=9)
    first = train_identity(sd_pipe, _faces(), IDENTITY, CLASS, short)
    assert first == train_identity(sd_pipe, _faces(), IDENTITY, CLASS, short)
    after = sd_pipe.unet.state_dict()
    assert state.keys() == after.keys() and all(torch.equal(state[k], after[k]) for k in state)
    assert not any(p.requires_grad for p in sd_pipe.unet.parameters())


def test_lora_changes_image_and_unloading_restores_base(
    sd_pipe: Any, trained: tuple[bytes, list[float], float]
) -> None:
    weights = trained[0]
    base = render_headshots(sd_pipe, None, _renders(), 4, 5.0, batch_size=2)
    styled = render_headshots(sd_pipe, weights, _renders(), 4, 5.0, batch_size=2)
    again = render_headshots(sd_pipe, None, _renders(), 4, 5.0, batch_size=2)
    assert len(base) == 3
    assert not np.array_equal(_pixels(base[0]), _pixels(styled[0]))
    assert all(np.array_equal(_pixels(a), _pixels(b)) for a, b in zip(base, again, strict=True))
    assert not np.array_equal(_pixels(base[0]), _pixels(base[2]))  # different seeds, different images


def test_same_seed_same_image_and_png_is_marked(
    sd_pipe: Any, trained: tuple[bytes, list[float], float]
) -> None:
    one = render_headshots(sd_pipe, trained[0], _renders(1), 3, 5.0, batch_size=4)
    two = render_headshots(sd_pipe, trained[0], _renders(1), 3, 5.0, batch_size=4)
    assert one == two
    image = Image.open(BytesIO(one[0]))
    assert image.format == "PNG" and image.size == (64, 64)
    assert (
        image.info["ai_generated"] == "true" and image.info["DigitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    )
    assert "trainedAlgorithmicMedia" in image.info["XML:com.adobe.xmp"]
    assert not image.getexif() and "exif" not in image.info


def test_lora_is_unloaded_after_a_failed_render(
    sd_pipe: Any, trained: tuple[bytes, list[float], float]
) -> None:
    bad = [RenderRequest("h", "studio", "p", "n", seed=1, output_key="k")]
    with pytest.raises(ValueError):
        render_headshots(sd_pipe, trained[0], bad, 2, 5.0, batch_size=1, resolution=63)
    assert not getattr(sd_pipe.unet, "peft_config", None)


def test_prior_preservation_trains(sd_pipe: Any) -> None:
    from ray_cluster.prior import generate_class_images

    class_images = generate_class_images(sd_pipe, CLASS, count=2, resolution=64, inference_steps=2)
    recipe = TrainRecipe(steps=3, rank=4, resolution=64, prior_preservation=True)
    _, losses = train_identity(sd_pipe, _faces(), IDENTITY, CLASS, recipe, class_images=class_images)
    assert len(losses) == 3


def test_sdxl_class_trains_and_generates(tiny_models_dir: Path) -> None:  # noqa: F811
    pipe = load_pipeline("tiny-sdxl", tiny_models_dir, offline=True)
    seen: list[tuple[int, int]] = []
    weights, losses = train_identity(
        pipe,
        _faces(),
        IDENTITY,
        CLASS,
        TrainRecipe(steps=4, rank=4, resolution=64),
        progress=lambda step, total, loss: seen.append((step, total)),
    )
    assert len(losses) == 4 and seen[-1] == (4, 4)
    base = render_headshots(pipe, None, _renders(2), 3, 5.0, batch_size=2)
    styled = render_headshots(pipe, weights, _renders(2), 3, 5.0, batch_size=2)
    assert len(styled) == 2 and base != styled
    assert render_headshots(pipe, None, _renders(2), 3, 5.0, batch_size=2) == base
