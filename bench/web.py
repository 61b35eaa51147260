"""The web layer on loopback: status polling under load, and uploads through intake.

    .venv/bin/python bench/web.py [--pollers 100] [--rounds 10] [--photos 20]

1. Status polling: ``--pollers`` concurrent clients each poll ``GET /api/shoots/{id}``
   ``--rounds`` times; the same for ``GET /api/session`` (the session lookup alone, the floor
   every signed-in request pays). Reports p50/p95 of each and the p95 ratio (target <= 2).
2. Upload throughput: ``--photos`` photos of 12 MP streamed one by one through
   ``PUT /api/draft/photos`` (streaming, limits, intake, duplicate check, sealing, draft row)
   against the intake alone (``check_one``) on the same bytes (target ratio <= 1.3).

One server (uvicorn, one worker, 127.0.0.1, a free port) in its own process, so that the
clients' event loop does not share its interpreter; both measurements in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from headpix import sessions
from headpix.app.wiring import install_launcher
from headpix.intake import IntakeRules, PhotoInput
from headpix.intake.check import check_one
from headpix.samples import sample_photos
from headpix.services import Services
from headpix.settings import load_settings
from schemas.api import CustomerSignup, Gender
from schemas.models import Photoshoot
from web import core
from web.app import create_app


def twelve_megapixels(count: int) -> list[tuple[str, bytes]]:
    """Distinct selfies scaled to 12 MP (aspect kept) with sensor-like noise, as JPEG (quality 90)."""
    rng = np.random.default_rng(0)
    out = []
    for name, data in sample_photos(count):
        image = Image.open(io.BytesIO(data)).convert("RGB")
        factor = (12_000_000 / (image.width * image.height)) ** 0.5
        size = (round(image.width * factor), round(image.height * factor))
        image = image.resize(size, Image.Resampling.BICUBIC)
        noise = rng.integers(-4, 5, (size[1], size[0], 3), dtype=np.int16)
        pixels = np.asarray(image, dtype=np.int16) + noise
        buffer = io.BytesIO()
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
        out.append((name, buffer.getvalue()))
    return out


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


async def poll(url: str, cookie: str, pollers: int, rounds: int) -> list[float]:
    limits = httpx.Limits(max_connections=pollers, max_keepalive_connections=pollers)
    async with httpx.AsyncClient(cookies={"hpx_session": cookie}, limits=limits, timeout=60) as client:

        async def one() -> list[float]:
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                response = await client.get(url)
                times.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
            return times

        results = await asyncio.gather(*(one() for _ in range(pollers)))
    return [t for times in results for t in times]


def serve(options: dict[str, Any], port: int) -> None:
    """The server process: the app on the same state folder as the benchmark's own services."""
    services = install_launcher(Services(load_settings(**options)))
    config = uvicorn.Config(
        create_app(services), host="127.0.0.1", port=port, access_log=False, log_level="warning"
    )
    uvicorn.Server(config).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pollers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--photos", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="headpix-bench-web-"))
    try:
        print(json.dumps(measure(args, home), indent=2))
    finally:  # the state dir and its key store hold the bench customer's (sealed) data
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(load_settings(home=home).resolved_key_dir, ignore_errors=True)


def measure(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    options: dict[str, Any] = {
        "home": home,
        "public_url": url,
        "max_file_mb": 40,
        "upload_max_total_mb": 2000,
        "max_photos": 60,
        "rate_limit_per_minute": 100_000,
        "upload_rate_per_minute": 100_000,
    }
    settings = load_settings(**options)
    services = install_launcher(Services(settings))
    services.migrate()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(options, port), daemon=True)
    server.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/policy", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.2)

    signup = CustomerSignup(name="Bench", email="bench@example.com", gender=Gender.woman)
    customer_id = core.sign_up(services, signup)
    cookie = sessions.create_session(services, customer_id=customer_id)
    with services.db.session() as session:
        shoot = Photoshoot(customer_id=customer_id, status="training", styles=["studio"], images_per_style=4)
        session.add(shoot)
        session.flush()
        shoot_id = shoot.id

    asyncio.run(poll(url + "/api/session", cookie, args.pollers, 2))  # warm-up: connections, caches
    asyncio.run(poll(f"{url}/api/shoots/{shoot_id}", cookie, args.pollers, 2))
    polling: dict[str, list[float]] = {"session": [], "status": []}
    for _ in range(2):  # interleaved, so neither endpoint gets the warm half alone
        polling["session"] += asyncio.run(poll(url + "/api/session", cookie, args.pollers, args.rounds))
        polling["status"] += asyncio.run(
            poll(f"{url}/api/shoots/{shoot_id}", cookie, args.pollers, args.rounds)
        )

    photos = twelve_megapixels(args.photos)
    rules = IntakeRules.from_settings(settings)
    start = time.perf_counter()
    intake_ok = sum(check_one(PhotoInput(n, d, len(d)), rules)[0].accepted for n, d in photos)
    intake_s = time.perf_counter() - start
    with httpx.Client(cookies={"hpx_session": cookie}, timeout=120) as client:
        start = time.perf_counter()
        verdicts = [
            client.put(url + "/api/draft/photos", params={"name": n}, content=d).json() for n, d in photos
        ]
        upload_s = time.perf_counter() - start
    server.terminate()
    server.join(timeout=10)

    megabytes = sum(len(d) for _, d in photos) / 1e6
    report = {
        "pollers": args.pollers,
        "requests_per_endpoint": len(polling["status"]),
        "session_p50_ms": round(percentile(polling["session"], 50), 1),
        "session_p95_ms": round(percentile(polling["session"], 95), 1),
        "status_p50_ms": round(percentile(polling["status"], 50), 1),
        "status_p95_ms": round(percentile(polling["status"], 95), 1),
        "status_mean_ms": round(statistics.mean(polling["status"]) * 1000, 1),
        "photos": len(photos),
        "megabytes": round(megabytes, 1),
        "intake_s": round(intake_s, 2),
        "upload_s": round(upload_s, 2),
        "intake_accepted": intake_ok,
        "upload_accepted": sum(1 for v in verdicts if v.get("accepted")),
    }
    report["p95_ratio"] = round(report["status_p95_ms"] / report["session_p95_ms"], 2)
    report["upload_ratio"] = round(upload_s / intake_s, 2)
    return report


if __name__ == "__main__":
    main()
