"""Orchestration on the local production stack: overhead per shoot, queue latency, actor utilisation.

    .venv/bin/python bench/stack.py --overhead-shoots 3 --burst 12

(a) Overhead: shoots one at a time through deployments and workers (the stack) and through
    the in-process path: wall time minus the seconds inside training and generation
    (shoot.compute_seconds); queue latency (run created -> run running) apart.
(b) Utilisation: ``--burst`` tiny shoots started at once; share of the wall time the two GPU
    actors spend training/generating; throughput against the same shoots one after another.
Prints one JSON object. Starts and stops its own stack (by pid) in a temp state dir.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack_spans import spans
from bench.stack_timeline import cpu_snapshot, cpu_used, run_starts, timeline

TUNING = {
    "HEADPIX_TRAIN_STEPS": "6",
    "HEADPIX_INFERENCE_STEPS": "2",
    "HEADPIX_IMAGES_PER_STYLE": "1",
    "HEADPIX_MIN_SIDE_PX": "64",
}


def run_shoots(services: Any, count: int, *, tag: str, wait_each: bool) -> list[dict[str, Any]]:
    """Start ``count`` shoots (waiting for each, or all at once); return their timings."""
    from headpix.app import runner
    from headpix.intake import PhotoInput
    from headpix.samples import sample_photos
    from schemas.api import CustomerSignup, Gender

    photos = [PhotoInput(n, d, len(d)) for n, d in sample_photos(6)]
    started: list[tuple[str, float]] = []
    rows = []
    for i in range(count):
        signup = CustomerSignup(
            name=f"Bench {tag} {i}", email=f"bench.{tag}.{i}@example.com", gender=Gender.man
        )
        began = time.time()
        started.append((runner.start_shoot(services, signup, photos), began))
        if wait_each:
            rows.append(wait_done(services, *started[-1]))
    if not wait_each:
        rows = [wait_done(services, shoot_id, began) for shoot_id, began in started]
    return rows


def wait_done(services: Any, shoot_id: str, began: float, timeout_s: float = 1800) -> dict[str, Any]:
    from headpix.shoots import load_shoot

    while time.time() - began < timeout_s:
        with services.db.session() as session:
            shoot = load_shoot(session, shoot_id)
            if shoot.status in ("delivered", "failed", "cancelled"):
                compute = {k: float(v) for k, v in (shoot.compute_seconds or {}).items()}
                end = shoot.delivered_at.timestamp() if shoot.delivered_at else time.time()
                return {
                    "shoot_id": shoot_id,
                    "status": shoot.status,
                    "began": began,
                    "ended": end,
                    "wall_s": round(end - began, 2),
                    "compute_s": round(sum(compute.values()), 2),
                    "compute": compute,
                    "overhead_s": round(end - began - sum(compute.values()), 2),
                }
        time.sleep(0.5)
    raise TimeoutError(f"shoot {shoot_id} not done in {timeout_s} s")


def queue_latency(api_url: str, shoot_ids: list[str]) -> dict[str, list[float]]:
    """Per shoot, from Prefect's own timestamps: run created -> picked up by a worker (Pending),
    and created -> Running (after the flow-run process started and imported the flow)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    names = [f"photoshoot-{s}" for s in shoot_ids]
    pickup, running = [], []
    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names)))
        for run in runs:
            if not (run.start_time and run.created):
                continue
            running.append(round((run.start_time - run.created).total_seconds(), 2))
            states = client.read_flow_run_states(run.id)
            pending = [st.timestamp for st in states if st.type.value == "PENDING"]
            if pending:
                pickup.append(round((min(pending) - run.created).total_seconds(), 2))
    return {"created_to_pending_s": pickup, "created_to_running_s": running}


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    warm = rows[1:] or rows
    return {
        "shoots": len(rows),
        "first_overhead_s": rows[0]["overhead_s"],
        "warm_overhead_s_mean": round(sum(r["overhead_s"] for r in warm) / len(warm), 2),
        "warm_wall_s_mean": round(sum(r["wall_s"] for r in warm) / len(warm), 2),
        "rows": rows,
    }


def inprocess(shoots: int) -> dict[str, Any]:
    """Shoots one at a time on the embedded path (ephemeral Prefect API, local Ray)."""
    from headpix.app.wiring import build_services
    from headpix.services import use_services
    from headpix.settings import load_settings
    from ray_cluster import runtime

    home = Path(tempfile.mkdtemp(prefix="headpix-bench-"))
    os.environ["PREFECT_HOME"] = str(home / "prefect")
    services = build_services(load_settings(home=home))
    use_services(services)
    try:
        return summary(run_shoots(services, shoots, tag="inproc", wait_each=True))
    finally:
        runtime.shutdown()
        use_services(None)
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overhead-shoots", type=int, default=3)
    parser.add_argument("--burst", type=int, default=12)
    parser.add_argument("--skip-inprocess", action="store_true")
    parser.add_argument("--inprocess-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-sequential", action="store_true", help="burst only (no throughput ratio)")
    parser.add_argument(
        "--train-steps", type=int, default=int(TUNING["HEADPIX_TRAIN_STEPS"]), help="LoRA steps per shoot"
    )
    parser.add_argument(
        "--product-defaults",
        action="store_true",
        help="tiny shoots at the product's own settings (60 LoRA steps, 4 headshots a style, the "
        "model's inference steps), not the micro-tuning above",
    )
    args = parser.parse_args()
    TUNING["HEADPIX_TRAIN_STEPS"] = str(args.train_steps)
    if args.product_defaults:
        for name in ("HEADPIX_TRAIN_STEPS", "HEADPIX_INFERENCE_STEPS", "HEADPIX_IMAGES_PER_STYLE"):
            TUNING.pop(name)
    os.environ.update(TUNING)
    os.environ.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", RAY_USAGE_STATS_ENABLED="0", DO_NOT_TRACK="1")
    from headpix.app.stack import supervisor
    from headpix.app.stack.env import client_env
    from headpix.app.stack.layout import StackLayout
    from headpix.app.wiring import build_services
    from headpix.services import use_services
    from headpix.settings import load_settings

    report: dict[str, Any] = {"tuning": TUNING}
    if args.inprocess_only:
        print(json.dumps(inprocess(args.overhead_shoots), default=str))
        return
    if not args.skip_inprocess:
        # In a process of its own: Ray keeps its first cluster's (token-less) auth for the life
        # of a process, and this one joins the stack's token-authenticated cluster below.
        child = [sys.executable, __file__, "--inprocess-only", "--overhead-shoots", str(args.overhead_shoots)]
        child += ["--train-steps", str(args.train_steps)] + (["--product-defaults"] * args.product_defaults)
        done = subprocess.run(child, stdout=subprocess.PIPE, text=True, check=True, env=os.environ.copy())
        report["inprocess"] = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps({"inprocess": report["inprocess"]}, default=str), file=sys.stderr, flush=True)

    home = Path(tempfile.mkdtemp(prefix="hpx-bench-stack-"))
    layout = StackLayout(home)
    began = time.time()
    state = supervisor.up(layout)
    report["stack_up_s"] = round(time.time() - began, 1)
    stack = contextlib.ExitStack()
    try:
        os.environ.update(client_env(layout, state))
        os.environ["PREFECT_HOME"] = str(layout.root / "prefect-client")
        from prefect.settings import PREFECT_API_URL, temporary_settings

        # Prefect read its settings when the in-process part loaded it: point it at the stack.
        stack.enter_context(temporary_settings(updates={PREFECT_API_URL: os.environ["PREFECT_API_URL"]}))
        services = build_services(load_settings(), check=True)
        use_services(services)
        api = os.environ["PREFECT_API_URL"]
        one_by_one = run_shoots(services, args.overhead_shoots, tag="stack", wait_each=True)
        report["stack"] = summary(one_by_one)
        report["stack"]["queue_latency_s"] = queue_latency(api, [r["shoot_id"] for r in one_by_one])
        services.pool.wait_ready(120)  # this process joins the cluster as one more driver, to read it
        report["stack"]["spans"] = spans(api, one_by_one, services.pool.ask_ready("history"))
        print(json.dumps({"stack": report["stack"]}, default=str), file=sys.stderr, flush=True)
        if args.burst:
            groups = {name: pid for name, pid in state.pids.items() if pid} | {"bench": os.getpid()}
            cpu_before = cpu_snapshot(groups)
            burst = run_shoots(services, args.burst, tag="burst", wait_each=False)
            cpu = cpu_used(cpu_before, cpu_snapshot(groups))
            first, last = min(r["began"] for r in burst), max(r["ended"] for r in burst)
            wall = last - first
            busy = sum(r["compute_s"] for r in burst)
            ids = [r["shoot_id"] for r in burst]
            pool = services.pool
            report["burst"] = {
                "shoots": args.burst,
                "delivered": sum(r["status"] == "delivered" for r in burst),
                "wall_s": round(wall, 1),
                "actor_busy_s": round(busy, 1),
                "utilisation_of_2_actors": round(busy / (2 * wall), 3),
                "actor_compute_per_shoot_s": round(busy / len(burst), 2),
                "queue_latency_s": queue_latency(api, ids),
                # CPU seconds in the burst: flow runs count under their worker, actors under
                # their Ray node; "machine" includes everything else running on this machine.
                "cpu_s": cpu,
                "cores": os.cpu_count(),
                "timeline": timeline(pool.ask_ready("history"), set(ids), run_starts(api, ids), first, last),
            }
            print(json.dumps({"burst": report["burst"]}, default=str), file=sys.stderr, flush=True)
            if not args.skip_sequential:
                sequential = run_shoots(services, args.burst, tag="seq", wait_each=True)
                seq_wall = max(r["ended"] for r in sequential) - min(r["began"] for r in sequential)
                report["burst"]["sequential_wall_s"] = round(seq_wall, 1)
                report["burst"]["throughput_ratio"] = round(seq_wall / wall, 2)
    finally:
        stack.close()
        use_services(None)
        supervisor.down(layout)
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
