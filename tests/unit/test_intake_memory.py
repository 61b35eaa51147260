"""Regression: 16-bit grey photos no longer go through float64 copies (17 bytes per pixel)."""

from __future__ import annotations

import tracemalloc

import numpy as np
from PIL import Image

from headpix.intake import IntakeRules
from headpix.intake.decode import to_srgb


def gray16(side: int) -> Image.Image:
    ramp = np.linspace(0, 65535, side * side, dtype=np.float64).reshape(side, side)
    return Image.fromarray(ramp.astype(np.uint16))


def test_high_depth_gray_is_scaled_in_its_own_type():
    image = gray16(1000)
    tracemalloc.start()
    try:
        to_srgb(image)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Traced: the bytes Pillow hands NumPy, one uint16 copy and the uint8 result (Pillow's own
    # buffers are not traced). The float64 version needed over 16 bytes per pixel here.
    assert peak / (1000 * 1000) < 6


def test_high_depth_gray_keeps_its_values():
    values = np.array([[0, 256, 257, 1000, 65535, 32768]], dtype=np.uint16)
    result = np.asarray(to_srgb(Image.fromarray(values)).convert("L"))
    assert result.tolist() == [(values // 257).astype(np.uint8).tolist()[0]]
    small = np.array([[0, 10, 255]], dtype=np.uint16)  # already 8-bit range: unchanged
    assert np.asarray(to_srgb(Image.fromarray(small)).convert("L")).tolist() == [[0, 10, 255]]


def test_memory_budget_follows_the_megapixel_limit():
    small, large = IntakeRules(max_pixels=2_000_000), IntakeRules(max_pixels=60_000_000)
    assert large.memory_budget_bytes - small.memory_budget_bytes == 16 * 58_000_000
