"""False-reject rate of the intake on a large generated set of one real person's phone shots.

The astronaut scikit-image ships, shot as a phone would (tilt up to ±15°, mirror, brightness
0.65-1.25, contrast 0.75-1.3, portrait or square framing, JPEG quality 72-95), all in one set
so the one-person rule runs too. Prints the rate and, for each refused shot, its reasons.

Run: PYTHONPATH=. OMP_NUM_THREADS=1 .venv/bin/python bench/false_rejects.py [--shots 300]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from headpix.intake import IntakeRules, PhotoInput, check_photos
from headpix.samples import phone_shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    shots = phone_shots(args.shots, seed=args.seed)
    rules = IntakeRules(max_photos=args.shots)
    start = time.process_time()
    report = check_photos([PhotoInput(f"shot-{i:04d}.jpg", d, len(d)) for i, d in enumerate(shots)], rules)
    seconds = time.process_time() - start
    refused = [p for p in report.photos if not p.accepted]
    reasons = Counter(code for p in refused for code in p.reasons)
    rate = len(refused) / len(shots)
    per_shot_ms = seconds / len(shots) * 1000
    print(f"{len(shots)} phone shots of one person: {len(refused)} refused (false-reject rate {rate:.2%})")
    print(f"intake CPU time: {per_shot_ms:.0f} ms per shot (900-1600 px JPEGs)")
    for photo in refused:
        print(f"  {photo.file}: {', '.join(photo.reasons)}")
    if reasons:
        print("by reason:", dict(reasons))


if __name__ == "__main__":
    main()
