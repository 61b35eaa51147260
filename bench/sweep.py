"""Time a retention sweep with nothing due on 10,000 and 100,000 customers; report the ratio.

    .venv/bin/python bench/sweep.py [--database-url postgresql+psycopg://…] [--sizes 10000 100000]

Each customer has one delivered shoot (purged originals, identity model, headshots) and one sent
mail with its body already gone, all recent, so the sweep finds nothing to do: its cost is the cost
of its due-row queries. A ratio near 1 means the queries use indexes; near 10, they scan.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from headpix import retention
from headpix.services import Services
from headpix.settings import load_settings
from schemas.models import Customer, Headshot, IdentityModel, OriginalPhoto, OutboxMessage, Photoshoot

T0 = datetime(2027, 1, 1, tzinfo=UTC)


def populate(services: Services, customers: int) -> None:
    batch = 5000
    for start in range(0, customers, batch):
        rows: dict[type, list[dict[str, object]]] = {
            t: [] for t in (Customer, Photoshoot, OriginalPhoto, IdentityModel, Headshot, OutboxMessage)
        }
        for n in range(start, min(customers, start + batch)):
            cid, sid = str(uuid.uuid4()), str(uuid.uuid4())
            rows[Customer].append(
                dict(
                    id=cid,
                    name=f"c{n}",
                    email=f"c{n}@example.com",
                    gender="woman",
                    preferences={},
                    policy_version="2026-11",
                    consented_at=T0,
                    created_at=T0,
                    last_active_at=T0,
                    consent_channel="web",
                )
            )
            rows[Photoshoot].append(
                dict(
                    id=sid,
                    customer_id=cid,
                    status="delivered",
                    created_at=T0,
                    updated_at=T0,
                    delivered_at=T0,
                    styles=[],
                    stage_seconds={},
                    compute_seconds={},
                    status_detail="",
                )
            )
            rows[OriginalPhoto].append(
                dict(
                    id=str(uuid.uuid4()),
                    shoot_id=sid,
                    ordinal=0,
                    filename="a.jpg",
                    sha256="0" * 64,
                    size_bytes=1,
                    uploaded_at=T0,
                    purged_at=T0,
                    verdict="accepted",
                    reasons=[],
                )
            )
            rows[IdentityModel].append(
                dict(
                    id=str(uuid.uuid4()),
                    shoot_id=sid,
                    weights_key="k",
                    base_model="tiny",
                    steps=1,
                    first_loss=1.0,
                    final_loss=1.0,
                    created_at=T0,
                )
            )
            rows[Headshot].append(
                dict(
                    id=str(uuid.uuid4()),
                    shoot_id=sid,
                    ordinal=0,
                    style="s",
                    prompt="p",
                    negative_prompt="",
                    seed=0,
                    key="k",
                    rendered_at=T0,
                )
            )
            rows[OutboxMessage].append(
                dict(
                    id=str(uuid.uuid4()),
                    dedup_key=f"d:{sid}",
                    kind="delivery",
                    category="transactional",
                    status="sent",
                    attempts=1,
                    created_at=T0,
                    sent_at=T0,
                )
            )
        with services.db.session() as session:
            for table, values in rows.items():
                session.execute(insert(table), values)


def time_sweep(services: Services, repeats: int = 5) -> float:
    now = T0 + timedelta(hours=1)
    retention.sweep(services, now)  # warm caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = retention.sweep(services, now)
        times.append(time.perf_counter() - started)
        assert sum(result.to_json().values()) == 0, result
    return statistics.median(times)


def slowest_categories(services: Services) -> str:
    """Where a nothing-due sweep spends its time, per category (the place to add an index)."""
    now = T0 + timedelta(hours=1)
    spent = []
    for name, function in retention.CATEGORIES:
        started = time.perf_counter()
        function(services, now)
        spent.append((time.perf_counter() - started, name))
    started = time.perf_counter()
    retention.overdue_erasures(services, now)
    spent.append((time.perf_counter() - started, "overdue"))
    return ", ".join(f"{name} {seconds * 1000:.1f} ms" for seconds, name in sorted(spent, reverse=True)[:4])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000])
    args = parser.parse_args()
    figures = {}
    for size in args.sizes:
        home = Path(tempfile.mkdtemp(prefix="headpix-bench-"))
        url = args.database_url
        if url.startswith("postgresql"):
            import sqlalchemy as sa

            admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
            name = f"headpix_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            url = url.rsplit("/", 1)[0] + "/" + name
        services = Services(load_settings(home=home, database_url=url))
        services.migrate()
        populate(services, size)
        if url.startswith("postgresql"):  # as autovacuum would after a bulk load: fresh statistics
            with services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        figures[size] = time_sweep(services)
        print(f"{size:>7} customers: sweep with nothing due {figures[size] * 1000:8.1f} ms (median of 5)")
        print(f"         slowest: {slowest_categories(services)}")
        services.db.dispose()
        shutil.rmtree(home, ignore_errors=True)
        if url != args.database_url:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if len(figures) >= 2:
        small, large = min(figures), max(figures)
        print(f"ratio {large}/{small} customers: {figures[large] / figures[small]:.2f}x")


if __name__ == "__main__":
    main()
