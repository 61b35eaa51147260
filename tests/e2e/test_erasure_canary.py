"""The canary: a customer marked with unique strings shoots, asks for erasure, and nothing is left."""

from __future__ import annotations

import email
import email.policy
import io
import json
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from headpix.app import runner
from headpix.app.cli import main
from headpix.intake import PhotoInput
from headpix.samples import sample_photos
from headpix.sealing import KeyDestroyed, unseal
from schemas.api import CustomerSignup, Gender, Preferences
from schemas.models import Base

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("ray_local")]

MARKS = ["Zqcanaryname", "zqcanary.mail@example.com", "ZqAttireMarker", "ZqExifMarker"]


def canary_photos() -> list[PhotoInput]:
    photos = []
    for i, (name, data) in enumerate(sample_photos(5)):
        if i == 0:  # a marker in the EXIF of one original
            exif = Image.Exif()
            exif[0x010E] = MARKS[3]  # ImageDescription
            buffer = io.BytesIO()
            Image.open(io.BytesIO(data)).save(buffer, "JPEG", exif=exif)
            data = buffer.getvalue()
            assert MARKS[3].encode() in data
        photos.append(PhotoInput(file=name, data=data, size=len(data)))
    return photos


def run_canary_shoot(services) -> tuple[str, list[PhotoInput]]:
    photos = canary_photos()
    signup = CustomerSignup(
        name=MARKS[0] + " Smith",
        email=MARKS[1],
        gender=Gender.woman,
        preferences=Preferences(attire=MARKS[2]),
    )
    runner.start_shoot(services, signup, photos)
    with services.db.session() as session:
        customer_id = session.execute(sa.text("select id from customers")).scalar_one()
    return customer_id, photos


def erase_by_cli(read_last_mail, capsys) -> str:
    assert main(["privacy", "request", "erasure", "--email", MARKS[1], "--json"]) == 0
    request = json.loads(capsys.readouterr().out)
    assert request["status"] == "awaiting_confirmation"
    text = read_last_mail()
    assert "headpix " not in text, "no email tells a customer to run a command"
    found = re.search(r"/privacy/confirm/[0-9a-f-]+/([0-9a-f]+)", text)
    assert found, "the confirmation email shows no link"
    token = found.group(1)
    assert main(["privacy", "confirm", request["request_id"], "--token", token, "--json"]) == 0
    confirmed = json.loads(capsys.readouterr().out)
    assert confirmed["status"] == "completed", confirmed
    return request["request_id"]


def table_text(services) -> str:
    chunks = []
    with services.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


def prefect_bytes() -> bytes:
    home = Path(os.environ["PREFECT_HOME"])
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


def assert_no_marks(text: str | bytes, where: str, customer_id: str, photos) -> None:
    data = text.encode() if isinstance(text, str) else text
    for mark in [*MARKS, customer_id]:
        assert mark.encode() not in data, f"{mark} survives in {where}"
        assert mark.lower().encode() not in data.lower(), f"{mark} survives in {where}"
    for photo in photos:
        import hashlib

        assert hashlib.sha256(photo.data).hexdigest().encode() not in data, f"photo hash in {where}"


def check_receipt(request_id: str, tmp_path: Path, capsys) -> None:
    assert main(["privacy", "receipt", "show", request_id]) == 0
    receipt = tmp_path / "receipt.json"
    receipt.write_text(capsys.readouterr().out)
    assert main(["privacy", "receipt", "verify", str(receipt)]) == 0
    tampered = json.loads(receipt.read_text())
    tampered["receipt"]["deleted"]["customers"] = 0
    receipt.write_text(json.dumps(tampered))
    assert main(["privacy", "receipt", "verify", str(receipt)]) == 1
    capsys.readouterr()
    assert main(["privacy", "verify", "--request", request_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["clean"] is True


@pytest.mark.postgres
@pytest.mark.s3
def test_canary_on_postgres_and_versioned_s3(
    make_services, fresh_postgres_url, s3_server, sendgrid, tmp_path, capsys
):
    bucket = s3_server.versioned_bucket()
    services = make_services(
        database_url=fresh_postgres_url,
        storage_url=f"s3://{bucket}/hp",
        s3_endpoint_url=s3_server.endpoint,
        s3_access_key_id="test",
        s3_secret_access_key="test",
        mail_backend="sendgrid",
        sendgrid_api_key="SG.test",
        sendgrid_host=sendgrid.url,
    )
    customer_id, photos = run_canary_shoot(services)
    client = s3_server.client()
    # The backup: every row, and every object version, taken before the erasure.
    backup_rows = table_text(services)
    backup_objects = [
        client.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
        for v in s3_server.all_versions(bucket)
        if "Size" in v
    ]
    assert backup_objects and customer_id in backup_rows
    assert_no_marks(backup_rows.replace(customer_id, ""), "rows before erasure (sealed)", "zz-no-such-id", [])

    def last_mail() -> str:
        return sendgrid.messages[-1]["content"][0]["value"]

    request_id = erase_by_cli(last_mail, capsys)
    final = sendgrid.messages[-1]
    assert final["personalizations"][0]["to"][0]["email"] == MARKS[1]  # the address captured for it

    assert_no_marks(table_text(services), "the database", customer_id, photos)
    assert [v for v in s3_server.all_versions(bucket) if customer_id in v["Key"]] == []
    for version in s3_server.all_versions(bucket):
        if "Size" in version:
            body = client.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
            assert_no_marks(body["Body"].read(), f"object {version['Key']}", customer_id, photos)
    assert_no_marks(prefect_bytes(), "Prefect's home", customer_id, photos)
    check_receipt(request_id, tmp_path, capsys)

    # The backup cannot be turned back into photos or headshots with anything we still hold.
    with pytest.raises(KeyDestroyed):
        services.keys.data_key(customer_id)
    for sealed in backup_objects:
        with pytest.raises(Exception):  # noqa: B017 - any failure to decode is the point
            Image.open(io.BytesIO(sealed)).load()
        with pytest.raises(Exception):  # noqa: B017
            unseal(os.urandom(32), "any", sealed)
    assert "wrapped_key" not in backup_rows  # data keys never lived in the main database


def test_canary_on_embedded_default_leaves_nothing_in_raw_files(make_services, tmp_path, capsys):
    services = make_services()
    customer_id, photos = run_canary_shoot(services)

    def last_mail() -> str:
        mails = sorted(services.settings.mail_folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        message = email.message_from_bytes(mails[-1].read_bytes(), policy=email.policy.default)
        return message.get_content()

    request_id = erase_by_cli(last_mail, capsys)
    assert_no_marks(table_text(services), "the database", customer_id, photos)
    state = services.settings.state_dir
    raw = b"".join(
        p.read_bytes()
        for p in state.rglob("*")
        if p.is_file() and services.settings.mail_folder not in p.parents
    )
    assert_no_marks(raw, "raw files of the state dir (database, WAL, objects, keys)", customer_id, photos)
    assert_no_marks(prefect_bytes(), "Prefect's home", customer_id, photos)
    check_receipt(request_id, tmp_path, capsys)

    # The verifier is not a formality: a copy planted afterwards, flush in binary, is found.
    (state / "stray.bin").write_bytes(b"\x00\x07Someone" + MARKS[1].encode() + b"woman\x00")
    assert main(["privacy", "verify", "--request", request_id, "--json"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert not found["clean"] and any("stray.bin" in f for f in found["plaintext_found_in"])
