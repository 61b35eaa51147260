"""A backup taken before an erasure holds nothing of the customer that can be read afterwards.

Personal values are sealed under the customer's data key (kept in the key store, never in the
main database), so a dump or a file copy holds no plaintext, and once the erasure destroys the
key none of the customer's sealed values opens with the keys that remain.
"""

from __future__ import annotations

import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from headpix import drafts, personal
from headpix.privacy import requests
from headpix.privacy.requests import RequestType
from headpix.sealed_columns import customer, open_value
from headpix.sealing import KeyDestroyed
from headpix.services import Services
from schemas.models import OriginalPhoto, Photoshoot
from tests.fixtures_services import PG_ADMIN_URL
from tests.integration.test_privacy_requests import token_from_mail

NAME, EMAIL, ATTIRE, FILENAME, DRAFT = (
    "Zqbackupname Smith",
    "zqbackup.mail@example.com",
    "ZqBackupAttire",
    "ZqSelfie.jpg",
    "ZqWaitingUpload.jpg",
)
MARKS = [NAME, EMAIL, ATTIRE, FILENAME, DRAFT, "Zqbackupname"]


def add_marked_customer(services: Services) -> str:
    keys = services.keys
    with services.db.session() as session:
        row = personal.new_customer(
            keys,
            name=NAME,
            email=EMAIL,
            preferences={"attire": ATTIRE},
            gender="woman",
            policy_version="2026-11",
        )
        session.add(row)
        session.flush()
        shoot = Photoshoot(customer_id=row.id, status="delivered", styles=["corporate"])
        session.add(shoot)
        session.flush()
        session.add(
            OriginalPhoto(
                shoot_id=shoot.id,
                ordinal=0,
                filename_sealed=personal.seal_filename(keys, row.id, FILENAME),
                sha256="0" * 64,
                size_bytes=1,
                verdict="accepted",
            )
        )
        customer_id = row.id
    # ... and a photo still waiting in the web layer's draft area (sealed, swept after a day)
    drafts.add_photo(
        services, customer_id=customer_id, filename=DRAFT, data=b"draft", sha256="1" * 64, phash="0"
    )
    return customer_id


def erase(services: Services) -> None:
    view = requests.submit(services, RequestType.erasure, EMAIL)
    done = requests.confirm(services, view.request_id, token_from_mail(services, view.request_id))
    assert done.status == "completed"


def assert_no_plaintext(data: bytes, where: str) -> None:
    for mark in MARKS:
        assert mark.lower().encode() not in data.lower(), f"{mark} in plaintext in {where}"


def sealed_values(engine: sa.Engine, customer_id: str) -> list[tuple[str, bytes]]:
    found = []
    with engine.connect() as conn:
        for name, email, prefs in conn.execute(
            sa.text("SELECT name_sealed, email_sealed, preferences_sealed FROM customers WHERE id = :id"),
            {"id": customer_id},
        ):
            found += [("customers.name", name), ("customers.email", email), ("customers.preferences", prefs)]
        for (value,) in conn.execute(sa.text("SELECT filename_sealed FROM original_photos")):
            found.append(("original_photos.filename", value))
        for (value,) in conn.execute(sa.text("SELECT filename_sealed FROM draft_photos")):
            found.append(("draft_photos.filename", value))
    return [(column, bytes(value)) for column, value in found]


def assert_unreadable(services: Services, engine: sa.Engine, customer_id: str) -> None:
    values = sealed_values(engine, customer_id)
    assert len(values) == 5, "the backup holds the customer's sealed rows"
    for column, value in values:
        with pytest.raises(KeyDestroyed):
            open_value(services.keys, customer(customer_id), column, value)


@pytest.mark.postgres
def test_pg_dump_before_erasure_is_unreadable_after(make_services, fresh_postgres_url, tmp_path: Path):
    services = make_services(database_url=fresh_postgres_url)
    customer_id = add_marked_customer(services)
    name = fresh_postgres_url.rsplit("/", 1)[1]
    dump = tmp_path / "backup.sql"
    subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-d", name, "-f", str(dump)], check=True, timeout=120
    )
    before = sealed_values(services.db.engine, customer_id)
    assert open_value(services.keys, customer(customer_id), *before[0]) == NAME  # readable until erased

    erase(services)

    assert_no_plaintext(dump.read_bytes(), "the dump")
    restored = f"headpix_restored_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{restored}"'))
    try:
        subprocess.run(
            [
                "psql",
                "-q",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                restored,
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                str(dump),
            ],
            check=True,
            timeout=120,
            capture_output=True,
        )
        engine = sa.create_engine(fresh_postgres_url.rsplit("/", 1)[0] + "/" + restored)
        assert_unreadable(services, engine, customer_id)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)'))
        admin.dispose()


def test_sqlite_file_copy_before_erasure_is_unreadable_after(make_services, tmp_path: Path):
    services = make_services()
    customer_id = add_marked_customer(services)
    live = services.settings.resolved_database_url.split("///", 1)[1]
    copy = tmp_path / "backup.db"
    with sqlite3.connect(live) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    raw = b"".join(p.read_bytes() for p in Path(live).parent.glob(Path(live).name + "*"))

    erase(services)

    assert_no_plaintext(copy.read_bytes(), "the SQLite copy")
    assert_no_plaintext(raw, "the database files as they were (WAL included)")
    engine = sa.create_engine(f"sqlite:///{copy}")
    assert_unreadable(services, engine, customer_id)
    engine.dispose()
