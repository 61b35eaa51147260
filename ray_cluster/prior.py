"""Class images for DreamBooth's prior preservation, rendered by the frozen base model."""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image


@torch.no_grad()
def generate_class_images(
    pipe: Any,
    class_prompt: str,
    count: int,
    resolution: int,
    seed: int = 0,
    inference_steps: int = 25,
    batch_size: int = 4,
) -> list[Image.Image]:
    """Class images for prior preservation, from the frozen base model (cache them per class)."""
    images: list[Image.Image] = []
    for start in range(0, count, batch_size):
        n = min(batch_size, count - start)
        generators = [torch.Generator().manual_seed(seed + start + i) for i in range(n)]
        out = pipe(
            prompt=[class_prompt] * n,
            generator=generators,
            num_inference_steps=inference_steps,
            height=resolution,
            width=resolution,
        )
        images.extend(out.images)
    return images
