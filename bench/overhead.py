"""Orchestration overhead: N tiny photoshoots through the real flow, wall time vs GPU-work time.

    .venv/bin/python bench/overhead.py --shoots 3

Reports, per shoot and in total, the flow's wall time against the seconds spent inside the
Ray workers' training and generation, as a ratio. The first shoot pays for starting Prefect's
ephemeral API, Ray and the actor (model load); it is reported apart from the warm ones.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoots", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="headpix-bench-"))
    os.environ.update(
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        RAY_USAGE_STATS_ENABLED="0",
    )
    from headpix.app import runner
    from headpix.app.wiring import build_services
    from headpix.intake import PhotoInput
    from headpix.samples import sample_photos
    from headpix.services import use_services
    from headpix.settings import load_settings
    from headpix.shoots import load_shoot
    from ray_cluster import runtime
    from schemas.api import CustomerSignup, Gender

    services = build_services(load_settings(home=home, train_steps=args.steps))
    use_services(services)
    photos = [PhotoInput(n, d, len(d)) for n, d in sample_photos(6)]
    rows = []
    for i in range(args.shoots):
        signup = CustomerSignup(name=f"Bench {i}", email=f"bench{i}@example.com", gender=Gender.man)
        start = time.perf_counter()
        shoot_id = runner.start_shoot(services, signup, photos)
        wall = time.perf_counter() - start
        with services.db.session() as session:
            shoot = load_shoot(session, shoot_id)
            compute = sum(shoot.compute_seconds.values())
            status = shoot.status
        rows.append(
            {
                "shoot": i + 1,
                "status": status,
                "wall_s": round(wall, 2),
                "gpu_work_s": round(compute, 2),
                "overhead_ratio": round(wall / compute, 2),
            }
        )
        print(json.dumps(rows[-1]))
    warm = rows[1:] or rows
    wall = sum(r["wall_s"] for r in warm)
    work = sum(r["gpu_work_s"] for r in warm)
    print(
        json.dumps(
            {
                "warm_shoots": len(warm),
                "warm_wall_s_per_shoot": round(wall / len(warm), 2),
                "warm_overhead_s_per_shoot": round((wall - work) / len(warm), 2),
                "warm_wall_over_work": round(wall / work, 2),
                "cold_first_shoot_wall_s": rows[0]["wall_s"],
            }
        )
    )
    runtime.shutdown()
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
