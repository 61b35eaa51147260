"""Erasure throughput against moto's S3 server, and the same objects deleted with raw DeleteObjects.

    .venv/bin/python bench/erasure.py --customers 20

Each customer gets a realistic footprint: profile, one delivered shoot with 8 photo rows,
an identity model and 8 headshots (sealed objects on a versioned bucket, two versions of
some), outbox rows and a confirmed erasure request. Erasure is the real path (rows DELETEd,
every version deleted, key shredded, residue verified, receipt signed). The baseline deletes
the same number of object versions with batched `DeleteObjects` and nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def seed_customer(services, index: int) -> str:
    from headpix.storage import Keys
    from schemas.models import Customer, Headshot, IdentityModel, OriginalPhoto, OutboxMessage, Photoshoot
    from schemas.privacy import PrivacyRequest

    now = datetime.now(UTC)
    with services.db.session() as session:
        customer = Customer(
            name=f"Bench Person {index}",
            email=f"bench{index}@example.com",
            gender="woman",
            preferences={"attire": "grey suit"},
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
                    filename=f"IMG_{i}.jpg",
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
            session.add(
                Headshot(
                    shoot_id=shoot.id,
                    ordinal=i,
                    style="corporate",
                    prompt="p",
                    seed=i,
                    key=key,
                    rendered_at=now,
                )
            )
            services.store.put(key, os.urandom(48 * 1024))
        session.add(
            OutboxMessage(
                dedup_key=f"delivery:{shoot.id}",
                kind="delivery",
                customer_id=customer.id,
                to_address=customer.email,
                subject="s",
                body="b",
                status="sent",
            )
        )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="headpix-bench-"))
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))

    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from headpix.privacy.receipts import init_key
    from headpix.services import Services
    from headpix.settings import load_settings

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # its access log names object keys
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1"
    )

    def bucket(name: str) -> str:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    services = Services(
        load_settings(
            home=home,
            storage_url=f"s3://{bucket('erase')}/hp",
            s3_endpoint_url=endpoint,
            s3_access_key_id="t",
            s3_secret_access_key="t",
            receipt_signing_key_file=str(init_key(home.parent / f"{home.name}-receipt.pem")),
        )
    )
    services.migrate()
    try:
        run(services, s3, bucket, args.customers)
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
        Path(home.parent / f"{home.name}-receipt.pem").unlink(missing_ok=True)


def run(services, s3, bucket, customers: int) -> None:
    from headpix.privacy.erasure import run_erasure

    requests = [seed_customer(services, i) for i in range(customers)]
    versions = len(s3.list_object_versions(Bucket="erase").get("Versions", []))

    start = time.perf_counter()
    for request_id in requests:
        assert run_erasure(services, request_id) == "completed"
    erase_s = time.perf_counter() - start

    # Baseline: the same number of object versions, deleted with raw batched DeleteObjects.
    bucket("raw")
    for i in range(versions):
        s3.put_object(Bucket="raw", Key=f"k/{i}", Body=b"x")
    listed = s3.list_object_versions(Bucket="raw")["Versions"]
    start = time.perf_counter()
    for at in range(0, len(listed), 1000):
        batch = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in listed[at : at + 1000]]
        s3.delete_objects(Bucket="raw", Delete={"Objects": batch, "Quiet": True})
    raw_s = time.perf_counter() - start

    print(
        json.dumps(
            {
                "customers": customers,
                "object_versions": versions,
                "erasure_s": round(erase_s, 2),
                "customers_per_s": round(customers / erase_s, 2),
                "raw_delete_objects_s": round(raw_s, 3),
                "erasure_over_raw_delete": round(erase_s / raw_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
