"""Erasure on PostgreSQL + moto's S3 server: does its cost grow with the database, and how far
is it from the raw deletes of the same rows and object versions?

    .venv/bin/python bench/erasure.py --customers 20 --background 1000 50000

For each background size B, a fresh PostgreSQL database (and key store) gets B background
customers (rows only: profile, a shoot, four photos, a consent, an outbox row; their sealed
values are opaque random bytes of the real size, since no erasure ever opens them), then
2 x N customers with a realistic footprint: profile, one delivered shoot with 8 photo rows,
an identity model and 8 headshots (sealed objects on a versioned bucket, two versions of
one), an outbox row and a confirmed erasure request. moto's `list_object_versions` copies
every version of the bucket on each call, so only these customers have objects.

N are erased through the real path (fence, stop, DELETE, every version, key shredded,
bounded verification, signed receipt, notice). The other N are deleted raw: the same
DELETE statements, children first, and the same object versions with one
`list_object_versions` and one batched `DeleteObjects` per customer, nothing else. The two
alternate (one erased, one deleted raw), so both see the same bucket as it empties, and both
database sizes are prepared first and measured in turn, one customer of each, so the load of a
shared machine falls on both alike.
Reported: the median seconds per customer for each (means beside them), the ratio between B
sizes, and erasure over raw.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def seed_customer(services, index: int) -> str:
    from headpix import personal
    from headpix.outbox import enqueue
    from headpix.storage import Keys
    from schemas.models import Headshot, IdentityModel, OriginalPhoto, Photoshoot
    from schemas.privacy import PrivacyRequest

    now = datetime.now(UTC)
    keys = services.keys
    with services.db.session() as session:
        customer = personal.new_customer(
            keys,
            name=f"Bench Person {index}",
            email=f"bench{index}@example.com",
            preferences={"attire": "grey suit"},
            gender="woman",
            policy_version="2026-11",
        )
        session.add(customer)
        session.flush()
        shoot = Photoshoot(customer_id=customer.id, status="delivered", styles=["corporate"])
        session.add(shoot)
        session.flush()
        for i in range(8):
            session.add(
                OriginalPhoto(
                    shoot_id=shoot.id,
                    ordinal=i,
                    filename_sealed=personal.seal_filename(keys, customer.id, f"IMG_{i}.jpg"),
                    sha256=f"{index:032d}{i:032d}",
                    size_bytes=1,
                    verdict="accepted",
                )
            )
        model_key = Keys.identity_model(customer.id, shoot.id, "m")
        session.add(
            IdentityModel(
                shoot_id=shoot.id,
                weights_key=model_key,
                base_model="tiny-sd",
                steps=1,
                first_loss=1.0,
                final_loss=0.5,
            )
        )
        services.store.put(model_key, os.urandom(64 * 1024))
        services.store.put(model_key, os.urandom(64 * 1024))  # a second version
        for i in range(8):
            key = Keys.headshot(customer.id, shoot.id, f"h{i}")
            headshot = Headshot(
                shoot_id=shoot.id, ordinal=i, style="corporate", seed=i, key=key, rendered_at=now
            )
            personal.seal_prompts(keys, customer.id, headshot, prompt="p", negative="")
            session.add(headshot)
            services.store.put(key, os.urandom(48 * 1024))
        enqueue(
            session,
            keys,
            dedup_key=f"delivery:{shoot.id}",
            kind="delivery",
            customer_id=customer.id,
            to=f"bench{index}@example.com",
            subject="s",
            body="b",
        ).status = "sent"
        request = PrivacyRequest(
            type="erasure",
            status="confirmed",
            customer_id=customer.id,
            subject_ref=services.keys.pseudonym(customer.id),
            confirmed_at=now,
            due_at=now,
        )
        session.add(request)
        session.flush()
        return request.id


def fresh_database(admin_url: str, name: str) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed_background(services, count: int) -> None:
    """Bulk rows of customers who are not erased: what the erasure's queries must not scan."""
    import sqlalchemy as sa

    from schemas.models import Customer, OriginalPhoto, OutboxMessage, Photoshoot, new_id
    from schemas.privacy import Consent

    now = datetime.now(UTC)
    batch = 5000
    for start in range(0, count, batch):
        customers, shoots, photos, consents, outbox = [], [], [], [], []
        for _ in range(min(batch, count - start)):
            cid, sid = new_id(), new_id()
            customers.append(
                {
                    "id": cid,
                    "name_sealed": os.urandom(48),
                    "email_sealed": os.urandom(56),
                    "email_index": os.urandom(32).hex(),
                    "preferences_sealed": os.urandom(64),
                    "gender": "woman",
                    "policy_version": "2026-11",
                    "consented_at": now,
                    "consent_channel": "web",
                    "created_at": now,
                    "last_active_at": now,
                }
            )
            shoots.append({"id": sid, "customer_id": cid, "status": "delivered", "created_at": now})
            photos += [
                {
                    "id": new_id(),
                    "shoot_id": sid,
                    "ordinal": i,
                    "filename_sealed": os.urandom(40),
                    "sha256": os.urandom(32).hex(),
                    "size_bytes": 1,
                    "verdict": "accepted",
                    "uploaded_at": now,
                }
                for i in range(4)
            ]
            consents.append(
                {
                    "id": new_id(),
                    "customer_id": cid,
                    "policy_version": "2026-11",
                    "action": "accepted",
                    "channel": "web",
                    "at": now,
                }
            )
            outbox.append(
                {
                    "id": new_id(),
                    "dedup_key": f"delivery:{sid}",
                    "kind": "delivery",
                    "category": "transactional",
                    "customer_id": cid,
                    "status": "sent",
                    "attempts": 1,
                    "created_at": now,
                }
            )
        with services.db.engine.begin() as conn:
            for table, rows in (
                (Customer, customers),
                (Photoshoot, shoots),
                (OriginalPhoto, photos),
                (Consent, consents),
                (OutboxMessage, outbox),
            ):
                conn.execute(sa.insert(table), rows)
    with services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


def raw_delete(services, s3, bucket: str, customer_id: str) -> None:
    """The floor: the same rows and object versions, deleted with nothing around them."""
    import sqlalchemy as sa

    shoots = "SELECT id FROM photoshoots WHERE customer_id = :c"
    with services.db.engine.begin() as conn:
        for statement in (
            "DELETE FROM outbox WHERE customer_id = :c",
            "DELETE FROM consents WHERE customer_id = :c",
            f"DELETE FROM gallery_links WHERE shoot_id IN ({shoots})",
            f"DELETE FROM headshots WHERE shoot_id IN ({shoots})",
            f"DELETE FROM identity_models WHERE shoot_id IN ({shoots})",
            f"DELETE FROM original_photos WHERE shoot_id IN ({shoots})",
            "DELETE FROM photoshoots WHERE customer_id = :c",
            "UPDATE privacy_requests SET customer_id = NULL WHERE customer_id = :c",
            "DELETE FROM customers WHERE id = :c",
        ):
            conn.execute(sa.text(statement), {"c": customer_id})
    prefix = f"hp/customers/{customer_id}/"
    page = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
    objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", [])]
    if objects:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    services.keys.destroy(customer_id)


@dataclass
class Setting:
    """One database size, ready to measure: its services, bucket and the customers to delete."""

    background: int
    services: Any
    bucket: str
    home: Path
    erased: list[str]  # confirmed erasure requests
    raw_ids: list[str]  # customers deleted raw
    erase_times: list[float] = field(default_factory=list)
    raw_times: list[float] = field(default_factory=list)


def prepare(admin_url: str, endpoint: str, s3, background: int, customers: int) -> Setting:
    from headpix.app.wiring import install_launcher
    from headpix.services import Services
    from headpix.settings import load_settings
    from schemas.privacy import PrivacyRequest

    tag = f"headpix_bench_{background}"
    home = Path(tempfile.mkdtemp(prefix="headpix-bench-"))
    bucket = f"erase-{background}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    services = install_launcher(
        Services(
            load_settings(
                home=home,
                key_dir=home.parent / f"{home.name}-keys",
                database_url=fresh_database(admin_url, tag),
                keys_database_url=fresh_database(admin_url, tag + "_keys"),
                storage_url=f"s3://{bucket}/hp",
                s3_endpoint_url=endpoint,
                s3_access_key_id="t",
                s3_secret_access_key="t",
            )
        )
    )
    services.migrate()
    seed_background(services, background)
    erased = [seed_customer(services, i) for i in range(customers)]
    raw = [seed_customer(services, customers + i) for i in range(customers)]
    with services.db.session() as session:
        raw_ids = [str(session.get(PrivacyRequest, r).customer_id) for r in raw]  # type: ignore[union-attr]
    return Setting(background, services, bucket, home, erased, raw_ids)


def erase_one(setting: Setting, s3, index: int) -> None:
    """One erasure through the real path, then one raw delete, in the same bucket state: moto
    lists versions in time proportional to the whole bucket, so both see it as it empties."""
    from headpix.privacy.erasure import run_erasure
    from headpix.services import use_services

    use_services(setting.services)
    start = time.perf_counter()
    assert run_erasure(setting.services, setting.erased[index]) == "completed"
    setting.erase_times.append(time.perf_counter() - start)
    start = time.perf_counter()
    raw_delete(setting.services, s3, setting.bucket, setting.raw_ids[index])
    setting.raw_times.append(time.perf_counter() - start)


def summary(setting: Setting) -> dict[str, float]:
    """Medians: on a shared machine a load spike lands on a few customers, not the typical one."""
    return {
        "erasure_s_per_customer": round(statistics.median(setting.erase_times), 4),
        "raw_s_per_customer": round(statistics.median(setting.raw_times), 4),
        "erasure_mean_s": round(statistics.fmean(setting.erase_times), 4),
        "raw_mean_s": round(statistics.fmean(setting.raw_times), 4),
    }


def dispose(admin_url: str, setting: Setting) -> None:
    setting.services.db.dispose()
    setting.services.keys.db.dispose()
    tag = f"headpix_bench_{setting.background}"
    drop_database(admin_url, tag)
    drop_database(admin_url, tag + "_keys")
    shutil.rmtree(setting.home, ignore_errors=True)
    shutil.rmtree(setting.home.parent / f"{setting.home.name}-keys", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--customers", type=int, default=20, help="customers erased (and as many deleted raw)"
    )
    parser.add_argument("--background", type=int, nargs=2, default=[1000, 50000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="headpix-bench-prefect-"))

    import boto3

    from headpix.app.stack import procs

    # S3 is a service of its own, as in production: moto's server in another process, so that its
    # work (it copies the bucket's versions on every listing) never shares this one's GIL.
    port = procs.free_port()
    log = Path(tempfile.mkdtemp(prefix="headpix-bench-s3-")) / "moto.log"
    moto = str(Path(sys.executable).with_name("moto_server"))
    server = procs.spawn([moto, "-H", "127.0.0.1", "-p", str(port)], log=log, env=dict(os.environ))
    procs.wait_until(lambda: procs.port_open(port), timeout_s=30, what="moto S3 server", log=log)
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1"
    )
    settings: list[Setting] = []
    try:
        for background in args.background:
            settings.append(prepare(args.admin_url, endpoint, s3, background, args.customers))
        # Both sizes side by side, one customer of each in turn: the machine's load falls on both.
        for index in range(args.customers):
            for setting in settings:
                erase_one(setting, s3, index)
        small, large = (summary(setting) for setting in settings)
    finally:
        for setting in settings:
            dispose(args.admin_url, setting)
        procs.stop(server)
    print(
        json.dumps(
            {
                "customers_erased": args.customers,
                "background": args.background,
                "small": small,
                "large": large,
                "large_over_small": round(
                    large["erasure_s_per_customer"] / small["erasure_s_per_customer"], 2
                ),
                "erasure_over_raw_large": round(
                    large["erasure_s_per_customer"] / large["raw_s_per_customer"], 2
                ),
                "erasure_over_raw_small": round(
                    small["erasure_s_per_customer"] / small["raw_s_per_customer"], 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
