"""Photos per second per core to check, sanitise and crop 20 JPEGs of 12 megapixels.

Reduced-size JPEG decoding (PIL draft mode) against plain full-size decoding, in one run;
HEIC reported separately.   Run: .venv/bin/python bench/intake.py
"""

from __future__ import annotations

import io
import time
from dataclasses import replace

import cv2
import numpy as np
from PIL import Image

from headpix.intake import IntakeRules, PhotoInput, check_photos
from headpix.samples import selfie_variants

cv2.setNumThreads(1)  # one core: the figure is per core


def twelve_megapixel(data: bytes, fmt: str) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    factor = (12_000_000 / (image.width * image.height)) ** 0.5  # 12 MP, aspect kept
    size = (round(image.width * factor), round(image.height * factor))
    image = image.resize(size, Image.Resampling.BICUBIC)
    noise = np.random.default_rng(0).normal(0, 3, (size[1], size[0], 3))
    image = Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=90)
    return buffer.getvalue()


def rate(inputs: list[PhotoInput], rules: IntakeRules) -> tuple[float, float]:
    start = time.perf_counter()
    report = check_photos(inputs, rules)
    elapsed = time.perf_counter() - start
    assert len(report.usable) == len(inputs), report.to_json()
    return len(inputs) / elapsed, elapsed


def main() -> None:
    rules = IntakeRules(max_photos=40)
    jpegs = [twelve_megapixel(data, "JPEG") for data in selfie_variants(20, seed=3)]
    inputs = [PhotoInput(f"{i}.jpg", d, len(d)) for i, d in enumerate(jpegs)]
    reduced, reduced_s = rate(inputs, rules)
    full, full_s = rate(inputs, replace(rules, reduced_jpeg_decode=False))
    print(f"JPEG 12 MP x20, reduced decode: {reduced:.1f} photos/s/core ({reduced_s:.2f} s)")
    print(f"JPEG 12 MP x20, full decode:    {full:.1f} photos/s/core ({full_s:.2f} s)")
    print(f"speed-up: {reduced / full:.2f}x")
    heics = [twelve_megapixel(data, "HEIF") for data in selfie_variants(5, seed=4)]
    heic_rate, heic_s = rate([PhotoInput(f"{i}.heic", d, len(d)) for i, d in enumerate(heics)], rules)
    print(f"HEIC 12 MP x5:                  {heic_rate:.1f} photos/s/core ({heic_s:.2f} s)")


if __name__ == "__main__":
    main()
