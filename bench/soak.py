"""Soak on the local production stack: shoots arrive at random at 80 % of the pool's capacity.

    .venv/bin/python bench/soak.py --shoots 50 --seed 7

First a calibration burst (``--calibrate`` shoots at once) measures the pool's capacity in
shoots per second; then ``--shoots`` shoots arrive as a Poisson process (seeded) at ``--load``
times that capacity. Reports delivered/failed/stuck, delivery emails against shoots, p50/p95
turnaround from start to the delivery email, peak memory per component (Prefect server,
workers with their flow-run processes, Ray nodes) and its mean while the first ten and the last
ten shoots ran, and PostgreSQL connections at peak against the limits. Prints one JSON object.
Starts and stops its own stack (by pid) in a temp state dir, like bench/stack.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import TUNING

COMPONENTS = ("prefect-server", "worker-1", "worker-2", "ray-head", "ray-gpu-1", "ray-gpu-2")
TERMINAL = ("delivered", "failed", "cancelled")


def tree_rss_mb(pid: int) -> float:
    from headpix.app.stack import procs

    total = 0
    for each in (pid, *procs.descendants(pid)):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Sampler(threading.Thread):
    """Every ``every_s``: RSS of each component's process tree, and PostgreSQL connections."""

    def __init__(self, pids: dict[str, int], pg_port: int, every_s: float = 2.0):
        super().__init__(daemon=True)
        self.pids, self.pg_port, self.every_s = pids, pg_port, every_s
        self.samples: list[dict[str, Any]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.pg_port} user=postgres dbname=postgres") as conn:
            conn.autocommit = True
            while not self.stop.is_set():
                row: dict[str, Any] = {"t": time.time()}
                for name in COMPONENTS:
                    row[name] = tree_rss_mb(self.pids[name])
                by_db: dict[str, int] = dict(
                    conn.execute(
                        "select coalesce(datname, '-'), count(*) from pg_stat_activity "
                        "where backend_type = 'client backend' group by 1"
                    ).fetchall()
                )
                row["pg"] = by_db
                self.samples.append(row)
                self.stop.wait(self.every_s)


def start_one(services: Any, photos: list[Any], tag: str, index: int) -> tuple[str, float]:
    from headpix.app import runner
    from schemas.api import CustomerSignup, Gender

    signup = CustomerSignup(
        name=f"Soak {tag} {index}", email=f"soak.{tag}.{index}@example.com", gender=Gender.man
    )
    began = time.time()
    return runner.start_shoot(services, signup, photos), began


def ending(services: Any, shoot_id: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from headpix.shoots import load_shoot
    from schemas.models import OutboxMessage

    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        if shoot.status not in TERMINAL:
            return None
        mail = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == f"delivery:{shoot_id}"))
        sent = mail.sent_at.timestamp() if mail is not None and mail.sent_at else None
        return {"status": shoot.status, "emailed_at": sent, "ended": time.time()}


def wait_all(services: Any, started: dict[str, float], timeout_s: float) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    deadline = time.time() + timeout_s
    while len(done) < len(started) and time.time() < deadline:
        for shoot_id in started:
            if shoot_id not in done and (end := ending(services, shoot_id)) is not None:
                done[shoot_id] = end
                emailed = round(end["emailed_at"] - started[shoot_id], 1) if end["emailed_at"] else None
                progress = {"done": len(done), "status": end["status"], "turnaround_s": emailed}
                print(json.dumps(progress), file=sys.stderr, flush=True)  # survives an interrupted run
        time.sleep(1)
    return done


def _ended(done: dict[str, dict[str, Any]], shoot_id: str) -> float:
    return float(done[shoot_id]["ended"]) if shoot_id in done else time.time()


def window_mean(samples: list[dict[str, Any]], start: float, end: float) -> dict[str, float]:
    inside = [s for s in samples if start <= s["t"] <= end] or samples[:1]
    return {name: round(statistics.fmean(s[name] for s in inside), 1) for name in COMPONENTS}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))], 1)


def mails_per_recipient(mail_file: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if mail_file.exists():
        for line in mail_file.read_text(encoding="utf-8").splitlines():
            message = json.loads(line)["message"]
            if "ready" not in str(message.get("subject", "")):
                continue
            for p in message.get("personalizations", []):
                for to in p.get("to", []):
                    counts[to["email"]] = counts.get(to["email"], 0) + 1
    return counts


def soak(services: Any, layout: Any, state: Any, args: argparse.Namespace) -> dict[str, Any]:
    from headpix.intake import PhotoInput
    from headpix.samples import sample_photos

    photos = [PhotoInput(n, d, len(d)) for n, d in sample_photos(6)]
    sampler = Sampler(state.pids, state.ports["postgres"])
    sampler.start()
    calibration = [start_one(services, photos, "cal", i) for i in range(args.calibrate)]
    cal_done = wait_all(services, dict(calibration), timeout_s=1800)
    cal_wall = max(d["ended"] for d in cal_done.values()) - min(b for _, b in calibration)
    capacity = len(cal_done) / cal_wall  # shoots per second with every actor busy
    rate = args.load * capacity
    rng = random.Random(args.seed)
    started: dict[str, float] = {}
    order: list[str] = []
    for index in range(args.shoots):
        if index:
            time.sleep(rng.expovariate(rate))
        shoot_id, began = start_one(services, photos, "soak", index)
        started[shoot_id] = began
        order.append(shoot_id)
    done = wait_all(services, started, timeout_s=max(900.0, 4 * args.shoots / capacity))
    sampler.stop.set()
    sampler.join(timeout=10)
    samples = sampler.samples
    turnaround = [d["emailed_at"] - started[s] for s, d in done.items() if d["emailed_at"]]
    first, last = order[:10], order[-10:]
    first_window = window_mean(samples, started[first[0]], max(_ended(done, s) for s in first))
    last_window = window_mean(samples, started[last[0]], max(_ended(done, s) for s in last))
    emails = mails_per_recipient(layout.mail_file)
    soak_emails = {k: v for k, v in emails.items() if k.startswith("soak.soak.")}
    pg_peak: dict[str, int] = max((s["pg"] for s in samples), key=lambda c: sum(c.values()), default={})
    return {
        "tuning": TUNING,
        "seed": args.seed,
        "calibration": {
            "shoots": args.calibrate,
            "wall_s": round(cal_wall, 1),
            "capacity_per_min": round(capacity * 60, 2),
        },
        "arrival_rate_per_min": round(rate * 60, 2),
        "shoots": args.shoots,
        "delivered": sum(d["status"] == "delivered" for d in done.values()),
        "failed": sum(d["status"] == "failed" for d in done.values()),
        "stuck": args.shoots - len(done),
        "delivery_emails": sum(soak_emails.values()),
        "shoots_with_more_than_one_email": sum(v > 1 for v in soak_emails.values()),
        "turnaround_s": {"p50": percentile(turnaround, 0.5), "p95": percentile(turnaround, 0.95)}
        if turnaround
        else {},
        "peak_rss_mb": {name: round(max(s[name] for s in samples), 1) for name in COMPONENTS},
        "rss_mb_first_10": first_window,
        "rss_mb_last_10": last_window,
        "rss_growth_pct": {
            n: round(100 * (last_window[n] - first_window[n]) / first_window[n], 1)
            if first_window[n]
            else None
            for n in COMPONENTS
        },
        "pg_connections_at_peak": {
            "total": sum(pg_peak.values()),
            "by_database": pg_peak,
            "max_connections": 200,
        },
        "samples": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoots", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--load", type=float, default=0.8, help="share of the measured capacity")
    parser.add_argument("--calibrate", type=int, default=4, help="shoots of the capacity burst")
    args = parser.parse_args()
    os.environ.update(TUNING)
    os.environ.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", RAY_USAGE_STATS_ENABLED="0", DO_NOT_TRACK="1")
    from headpix.app.stack import supervisor
    from headpix.app.stack.env import client_env
    from headpix.app.stack.layout import StackLayout
    from headpix.app.wiring import build_services
    from headpix.services import use_services
    from headpix.settings import load_settings

    home = Path(tempfile.mkdtemp(prefix="hpx-soak-stack-"))
    layout = StackLayout(home)
    began = time.time()
    state = supervisor.up(layout)
    report: dict[str, Any] = {"stack_up_s": round(time.time() - began, 1)}
    try:
        os.environ.update(client_env(layout, state))
        os.environ["PREFECT_HOME"] = str(layout.root / "prefect-client")
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: os.environ["PREFECT_API_URL"]}):
            services = build_services(load_settings(), check=True)
            use_services(services)
            report.update(soak(services, layout, state, args))
    finally:
        use_services(None)
        supervisor.down(layout)
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
