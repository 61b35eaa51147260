"""Intake time for 20 JPEGs of 12 megapixels on one core: today's dlib path against the Haar path.

Today's path detects (HOG), finds landmarks, aligns the crop and computes a face descriptor
per photo, then compares the set; bench/haar_baseline.py is the path it replaced. Both run
in the same process, alternately, best of --rounds. Times are CPU seconds of this process
(everything runs on one thread), so other work on a shared machine does not skew the ratio.
Reduced-size JPEG decoding against full-size decoding and HEIC are reported too.

Run: PYTHONPATH=. OMP_NUM_THREADS=1 .venv/bin/python bench/intake.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from dataclasses import replace

import cv2
import numpy as np
from haar_baseline import check_photos_haar  # bench/ is on the path when run as a script
from PIL import Image

from headpix.intake import IntakeRules, PhotoInput, check_photos
from headpix.intake.facemodel import warm_up
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


def dlib_path(inputs: list[PhotoInput], rules: IntakeRules) -> int:
    return len(check_photos(inputs, rules).usable)


Path = Callable[[list[PhotoInput], IntakeRules], int]


def seconds(run: Path, inputs: list[PhotoInput], rules: IntakeRules) -> float:
    start = time.process_time()
    accepted = run(inputs, rules)
    elapsed = time.process_time() - start
    assert accepted == len(inputs), f"{run.__name__}: {accepted} of {len(inputs)} accepted"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rules = IntakeRules(max_photos=40)
    jpegs = [twelve_megapixel(data, "JPEG") for data in selfie_variants(20, seed=3)]
    inputs = [PhotoInput(f"{i}.jpg", d, len(d)) for i, d in enumerate(jpegs)]
    warm_up()
    check_photos_haar(inputs[:1], rules)
    best = {"dlib": float("inf"), "haar": float("inf")}
    for _ in range(args.rounds):
        best["haar"] = min(best["haar"], seconds(check_photos_haar, inputs, rules))
        best["dlib"] = min(best["dlib"], seconds(dlib_path, inputs, rules))
    full = seconds(dlib_path, inputs, replace(rules, reduced_jpeg_decode=False))
    for name, label in (("haar", "Haar path (before)"), ("dlib", "dlib path (today) ")):
        print(f"JPEG 12 MP x20, {label}: {20 / best[name]:.1f} photos/s/core ({best[name]:.2f} s)")
    print(f"dlib / Haar time: {best['dlib'] / best['haar']:.2f}x (target at most 1.30x)")
    print(f"JPEG 12 MP x20, dlib path, full-size decode: {full:.2f} s ({full / best['dlib']:.2f}x reduced)")
    heics = [twelve_megapixel(data, "HEIF") for data in selfie_variants(5, seed=4)]
    heic_s = seconds(dlib_path, [PhotoInput(f"{i}.heic", d, len(d)) for i, d in enumerate(heics)], rules)
    print(f"HEIC 12 MP x5, dlib path: {5 / heic_s:.1f} photos/s/core ({heic_s:.2f} s)")


if __name__ == "__main__":
    main()
