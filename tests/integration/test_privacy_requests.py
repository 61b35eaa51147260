"""Every request type through its lifecycle, by the CLI and with tokens read from the mail."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from headpix import personal
from headpix.app.cli import main
from headpix.links import hash_token
from headpix.privacy import requests
from headpix.privacy.export import delete_expired_exports, write_export
from headpix.privacy.requests import RequestRefused, RequestType
from headpix.privacy.restriction import is_restricted
from headpix.services import Services
from headpix.shoots import register_customer
from headpix.storage import Keys
from schemas.api import CustomerSignup, Gender, Preferences
from schemas.models import Customer, Headshot, OriginalPhoto, OutboxMessage, Photoshoot, utcnow
from schemas.privacy import AuditEvent, DataExport, PrivacyRequest

ADA = "ada@example.com"
REQUEST_KEYS = {"request_id", "type", "status", "due_at"}
STATUS_KEYS = REQUEST_KEYS | {"completed_at"}


# Helpers (the marketing and restriction tests use them too).


def add_customer(services: Services, email: str, name: str = "Ada Lovelace") -> str:
    with services.db.session() as session:
        customer = register_customer(
            session,
            services.keys,
            CustomerSignup(
                name=name, email=email, gender=Gender.woman, preferences=Preferences(hair="short")
            ),
            channel="cli",
        )
        return customer.id


def cli(capsys: Any, *argv: str) -> tuple[int, dict[str, Any]]:
    """Run `headpix ARGV --json`; return the exit code and the one JSON object printed."""
    code = main([*argv, "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines
    return code, json.loads(lines[0])


def mailbox(services: Services) -> list[EmailMessage]:
    """Every message handed to the (local .eml) mail provider."""
    folder = services.settings.mail_folder
    if not folder.exists():
        return []
    messages = []
    for path in sorted(folder.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def body(message: EmailMessage) -> str:
    return str(message.get_content())


def mails_to(services: Services, address: str) -> list[EmailMessage]:
    return [m for m in mailbox(services) if m["To"] == address]


def token_from_mail(services: Services, request_id: str) -> str:
    """The confirmation token, read from the link in the mail like the web page would."""
    for message in mailbox(services):
        found = re.search(rf"/privacy/confirm/{request_id}/([0-9a-f]+)", body(message))
        if found:
            return found.group(1)
    raise AssertionError(f"no confirmation mail for request {request_id}")


@pytest.fixture
def services(make_services):
    return make_services()


def png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, shade, shade)).save(buffer, "PNG")
    return buffer.getvalue()


def add_delivered_shoot(services, customer_id: str) -> list[bytes]:
    """A delivered shoot with two rendered headshots (no model needed to export it)."""
    images = [png(10), png(200)]
    with services.db.session() as session:
        shoot = Photoshoot(
            customer_id=customer_id, styles=["corporate"], images_per_style=2, status="delivered"
        )
        session.add(shoot)
        session.flush()
        session.add(
            OriginalPhoto(
                shoot_id=shoot.id,
                ordinal=0,
                filename_sealed=personal.seal_filename(services.keys, customer_id, "me.jpg"),
                sha256="0" * 64,
                size_bytes=1,
                verdict="accepted",
                purged_at=utcnow(),
            )
        )
        for ordinal, data in enumerate(images):
            key = Keys.headshot(customer_id, shoot.id, f"h{ordinal}")
            services.store.put(key, data)
            headshot = Headshot(
                shoot_id=shoot.id,
                ordinal=ordinal,
                style="corporate",
                seed=ordinal,
                key=key,
                rendered_at=utcnow(),
            )
            personal.seal_prompts(services.keys, customer_id, headshot, prompt="a photo", negative="")
            session.add(headshot)
    return images


def confirm_by_mail(services, capsys, request_id: str) -> tuple[int, dict]:
    return cli(capsys, "privacy", "confirm", request_id, "--token", token_from_mail(services, request_id))


@pytest.mark.parametrize("type_", ["access", "portability"])
def test_access_and_portability_export_archive(services, capsys, tmp_path, type_):
    customer_id = add_customer(services, ADA)
    images = add_delivered_shoot(services, customer_id)

    code, submitted = cli(capsys, "privacy", "request", type_, "--email", "Ada@Example.com")
    assert code == 0 and set(submitted) == REQUEST_KEYS
    assert submitted["type"] == type_ and submitted["status"] == "awaiting_confirmation"
    request_id = submitted["request_id"]

    code, confirmed = confirm_by_mail(services, capsys, request_id)
    assert code == 0 and set(confirmed) == STATUS_KEYS
    assert confirmed["status"] == "completed" and confirmed["completed_at"]

    # A second confirmation is refused: the token is single-use.
    code, again = confirm_by_mail(services, capsys, request_id)
    assert code == 1 and again["error"] == "refused"

    [notice] = [m for m in mails_to(services, ADA) if "export is ready" in m["Subject"]]
    link = next(line for line in body(notice).splitlines() if "/exports/" in line).strip()
    assert link.startswith(f"{services.settings.public_url}/exports/")
    with services.db.session() as session:
        export = session.scalar(select(DataExport))
        assert export.token_hash == hash_token(link.rsplit("/", 1)[1])
        assert export.expires_at - export.created_at == timedelta(days=7)
        assert export.key.startswith(Keys.customer(customer_id) + "exports/")
    assert services.raw_store.get(export.key)[:4] == b"HPX1", "the stored archive must be sealed"

    code, written = cli(capsys, "privacy", "export", request_id, "--to", str(tmp_path / "out"))
    assert code == 0
    with zipfile.ZipFile(written["path"]) as archive:
        document = json.loads(archive.read("headpix-export.json"))
        assert sorted(archive.namelist()) == [
            "headpix-export.json",
            "headshots/corporate-01.png",
            "headshots/corporate-02.png",
        ]
        assert [archive.read(f"headshots/corporate-0{i}.png") for i in (1, 2)] == images
    assert document["schema"] == "headpix-export" and document["schema_version"] == 1
    assert document["customer"]["email"] == ADA and document["customer"]["name"] == "Ada Lovelace"
    assert document["preferences"] == {"hair": "short"}
    assert document["consents"][0]["action"] == "accepted"
    assert {r["id"] for r in document["requests"]} == {request_id}
    [shoot] = document["shoots"]
    assert shoot["photos"][0]["verdict"] == "accepted"
    assert [h["file"] for h in shoot["headshots"]] == [
        "headshots/corporate-01.png",
        "headshots/corporate-02.png",
    ]

    # Seven days on, the sweep deletes the archive; the CLI then refuses.
    assert delete_expired_exports(services, utcnow() + timedelta(days=6)) == 0
    assert delete_expired_exports(services, utcnow() + timedelta(days=7, minutes=1)) == 1
    assert not services.raw_store.exists(export.key)
    with pytest.raises(RequestRefused):
        write_export(services, request_id, tmp_path / "late")


def test_expired_token_wrong_token_and_status(services, capsys):
    add_customer(services, ADA)
    old = requests.submit(services, RequestType.access, ADA, now=utcnow() - timedelta(hours=49))
    code, out = confirm_by_mail(services, capsys, old.request_id)
    assert code == 1 and out["error"] == "refused" and "expired" in out["message"]
    code, status = cli(capsys, "privacy", "status", old.request_id)
    # The expiry is committed with the refusal: an unconfirmed request does nothing and expires.
    assert code == 0 and set(status) == STATUS_KEYS and status["status"] == "cancelled"
    code, out = confirm_by_mail(services, capsys, old.request_id)
    assert code == 1 and out["error"] == "refused"

    fresh = requests.submit(services, RequestType.access, ADA)
    code, out = cli(capsys, "privacy", "confirm", fresh.request_id, "--token", "not-the-token")
    assert code == 1 and out["error"] == "refused"
    assert requests.status(services, fresh.request_id).status == "awaiting_confirmation"
    with services.db.session() as session:  # the failed attempt is audited
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.request_id == fresh.request_id))
        assert "request.bad_token" in set(actions)
    code, out = confirm_by_mail(services, capsys, fresh.request_id)  # the real one still works
    assert code == 0 and out["status"] == "completed"

    code, out = cli(capsys, "privacy", "status", "no-such-request")
    assert code == 1 and out["error"] == "not_found"


@pytest.mark.parametrize("type_", ["access", "rectification", "restriction", "objection"])
def test_unknown_address_gets_the_same_answer_and_no_mail(services, capsys, type_):
    add_customer(services, ADA)
    known = requests.submit(services, RequestType(type_), ADA, changes={"name": "Ada"})
    before = len(mailbox(services))
    extra = ["--set", "name=Eve"] if type_ == "rectification" else []
    code, out = cli(capsys, "privacy", "request", type_, "--email", "nobody@example.com", *extra)
    assert code == 0 and set(out) == REQUEST_KEYS
    assert out["status"] == known.status  # same shape and status as for a known address
    assert len(mailbox(services)) == before
    with services.db.session() as session:
        request = session.get(PrivacyRequest, out["request_id"])
        assert request.customer_id is None
        queued = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedup_key.like(f"%{request.id}"))
        )
        assert queued == 0
    if type_ != "objection":
        code, refused = cli(capsys, "privacy", "confirm", out["request_id"], "--token", "guess")
        assert code == 1 and refused["error"] == "refused"


def test_rectification_changes_fields_audits_names_and_mails_both_addresses(services, capsys):
    customer_id = add_customer(services, ADA)
    code, out = cli(
        capsys,
        "privacy",
        "request",
        "rectification",
        "--email",
        ADA,
        "--set",
        "name=Ada King",
        "--set",
        "gender=female",
        "--set",
        "email=Ada.King@Example.com",
        "--set",
        'preferences={"attire": "navy suit", "hair": null}',
    )
    assert code == 0 and out["status"] == "awaiting_confirmation"
    code, done = confirm_by_mail(services, capsys, out["request_id"])
    assert code == 0 and done["status"] == "completed"

    with services.db.session() as session:
        customer = session.get(Customer, customer_id)
        keys = services.keys
        assert (personal.name_of(keys, customer), personal.email_of(keys, customer), customer.gender) == (
            "Ada King",
            "ada.king@example.com",
            "woman",
        )
        assert personal.preferences_of(keys, customer) == {"attire": "navy suit"}
        request = session.get(PrivacyRequest, out["request_id"])
        assert request.changes_sealed is None, "the new values are personal: cleared once applied"
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.rectified")).all()
        assert event.details == {"fields": ["email", "name", "preferences"]}  # gender was already woman
        assert "Ada King" not in json.dumps([e.details for e in session.scalars(select(AuditEvent))])
    assert "Your details have been corrected" in [m["Subject"] for m in mails_to(services, ADA)]
    assert [m["Subject"] for m in mails_to(services, "ada.king@example.com")] == [
        "Your details have been corrected"
    ]


def test_rectification_refusals(services, capsys):
    add_customer(services, ADA)
    add_customer(services, "grace@example.com", name="Grace")
    for bad in ("gender=robot", "height=2m", 'preferences={"hat": "x"}', "email=not-an-address"):
        code, out = cli(capsys, "privacy", "request", "rectification", "--email", ADA, "--set", bad)
        assert code == 2, (bad, out)
    with pytest.raises(SystemExit) as exit_:
        cli(capsys, "privacy", "request", "rectification", "--email")
    assert exit_.value.code == 2
    code, out = cli(capsys, "privacy", "request", "rectification", "--email", ADA)
    assert code == 2 and out["error"] == "usage"

    # An address another account uses is refused at confirmation, and nothing changes.
    code, out = cli(
        capsys, "privacy", "request", "rectification", "--email", ADA, "--set", "email=grace@example.com"
    )
    code, refused = confirm_by_mail(services, capsys, out["request_id"])
    assert code == 1 and refused["error"] == "refused"
    code, status = cli(capsys, "privacy", "status", out["request_id"])
    assert status["status"] == "rejected"
    with services.db.session() as session:
        assert session.get(PrivacyRequest, out["request_id"]).changes_sealed is None
        assert personal.find_by_email(session, services.keys, ADA) is not None


def test_restriction_holds_other_mail_until_lifted(services, capsys):
    customer_id = add_customer(services, ADA)
    code, out = cli(capsys, "privacy", "request", "restriction", "--email", ADA)
    request_id = out["request_id"]
    code, placed = confirm_by_mail(services, capsys, request_id)
    assert code == 0 and placed["status"] == "in_progress" and placed["due_at"] is None
    with services.db.session() as session:
        assert is_restricted(session, customer_id)
    assert any("restricted" in m["Subject"] for m in mails_to(services, ADA))

    from headpix.outbox import dispatch, enqueue

    with services.db.session() as session:
        row = enqueue(
            session,
            services.keys,
            dedup_key="delivery:some-shoot",
            kind="delivery",
            customer_id=customer_id,
            to=ADA,
            subject="Your photoshoot is ready",
            body="...",
        )
    assert dispatch(services, row.id).status == "held"
    # Request-related mail still goes out while restricted.
    access = requests.submit(services, RequestType.access, ADA)
    token_from_mail(services, access.request_id)

    code, lifted = cli(capsys, "privacy", "lift", request_id)
    assert code == 0 and lifted["status"] == "completed" and lifted["completed_at"]
    subjects = [m["Subject"] for m in mails_to(services, ADA)]
    assert "Processing of your data is no longer restricted" in subjects
    assert "Your photoshoot is ready" in subjects, "held mail is released when the restriction ends"
    with services.db.session() as session:
        assert not is_restricted(session, customer_id)
    code, again = cli(capsys, "privacy", "lift", request_id)
    assert code == 1 and again["error"] == "refused"


def test_objection_takes_effect_without_confirmation(services, capsys):
    add_customer(services, ADA)
    code, out = cli(capsys, "privacy", "request", "objection", "--email", ADA)
    assert code == 0 and set(out) == REQUEST_KEYS and out["status"] == "completed"
    assert [m["Subject"] for m in mails_to(services, ADA)] == ["You will get no more marketing mail from us"]
    code, again = cli(capsys, "privacy", "confirm", out["request_id"], "--token", "x")
    assert code == 1 and again["error"] == "refused"


def test_bad_type_is_a_usage_error(services, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli(capsys, "privacy", "request", "delete-everything", "--email", ADA)
    assert exit_.value.code == 2
    code, out = cli(capsys, "privacy", "request", "access", "--email", ADA, "--set", "name=x")
    assert code == 2 and out["error"] == "usage"


@pytest.mark.postgres
def test_access_lifecycle_on_postgres(make_services, postgres_url, capsys, tmp_path):
    services = make_services(database_url=postgres_url)
    address = f"pg-{utcnow().timestamp()}@example.com"
    add_customer(services, address)
    code, out = cli(capsys, "privacy", "request", "portability", "--email", address)
    code, done = confirm_by_mail(services, capsys, out["request_id"])
    assert code == 0 and done["status"] == "completed"
    code, written = cli(capsys, "privacy", "export", out["request_id"], "--to", str(tmp_path))
    with zipfile.ZipFile(written["path"]) as archive:
        assert json.loads(archive.read("headpix-export.json"))["customer"]["email"] == address
