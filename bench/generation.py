"""Tiny-model throughput: a photoshoot rendered in batches versus one image at a time.

Run: .venv/bin/python bench/generation.py [--images-per-style 2] [--steps 5] [--batch-size 4]
The tiny model renders noise; the ratio, not the images, is the result.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from headpix.styles import plan_renders
from ray_cluster.generation import render_headshots
from ray_cluster.jobs import RenderRequest
from ray_cluster.models import load_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-model", default="tiny-sd")
    parser.add_argument("--images-per-style", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as models:
        pipe = load_pipeline(args.base_model, Path(models), offline=True)
        plan = plan_renders(
            ["corporate", "studio", "casual", "outdoor"],
            {},
            identity_token="sks",
            class_word="person",
            images_per_style=args.images_per_style,
            base_seed=0,
        )
        renders = [
            RenderRequest(f"h{i}", p.style, p.prompt, p.negative_prompt, p.seed, f"k{i}")
            for i, p in enumerate(plan)
        ]
        render_headshots(pipe, None, renders[:2], 2, 7.0, batch_size=2)  # warm-up
        timings = {}
        for label, batch in (("one at a time", 1), (f"batched ({args.batch_size})", args.batch_size)):
            started = time.perf_counter()
            render_headshots(pipe, None, renders, args.steps, 7.0, batch_size=batch)
            timings[label] = time.perf_counter() - started
            print(
                f"{label:>16}: {len(renders)} images in {timings[label]:.2f} s "
                f"({len(renders) / timings[label]:.2f} images/s)"
            )
    one, batched = timings.values()
    print(f"batched / one-at-a-time throughput ratio: {one / batched:.2f}x")


if __name__ == "__main__":
    main()
