"""Whole photoshoots with the tiny model, on embedded defaults and on PostgreSQL + S3 + SendGrid."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from flows.photoshoot import photoshoot
from headpix.app import runner
from headpix.intake import IntakeRules, PhotoInput
from headpix.links import hash_token
from headpix.privacy.export import export_document
from headpix.samples import sample_photos
from headpix.services import Services
from headpix.shoots import shoot_report
from schemas.api import CustomerSignup, Gender, Preferences
from schemas.models import GalleryLink, Headshot, IdentityModel, OriginalPhoto, OutboxMessage
from schemas.privacy import UsageEvent
from tests.e2e.biometrics import needles, ray_folders

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("ray_local")]

MARK_NAME = "Qwyxz Canary-Name"
MARK_EMAIL = "qwyxz.canary@example.com"


@pytest.fixture(scope="module")
def selfies() -> list[PhotoInput]:
    return [PhotoInput(file=n, data=d, size=len(d)) for n, d in sample_photos(6)]


def signup(email: str = MARK_EMAIL) -> CustomerSignup:
    return CustomerSignup(
        name=MARK_NAME,
        email=email,
        gender=Gender.woman,
        preferences=Preferences(attire="charcoal suit"),
    )


def files_under(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        if root.exists():
            found += [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    return found


def assert_no_copies(originals: list[bytes], roots: list[Path]) -> None:
    for path in files_under(*roots):
        try:
            content = path.read_bytes()
        except OSError:
            continue
        for original in originals:
            assert original not in content, f"a copy of an original photo survives in {path}"


def prefect_home() -> Path:
    return Path(os.environ["PREFECT_HOME"])


def assert_prefect_knows_nothing_personal(customer_id: str) -> None:
    stored = files_under(prefect_home())
    assert any(p.name.startswith("prefect.db") for p in stored), "Prefect's database not found"
    for path in stored:
        content = path.read_bytes()
        for marker in (customer_id, MARK_NAME, MARK_EMAIL):
            assert marker.encode() not in content, f"{marker!r} reached Prefect's store: {path}"


def deliver_and_check(services: Services, selfies: list[PhotoInput]) -> str:
    shoot_id = runner.start_shoot(services, signup(), selfies)
    report = shoot_report(services, shoot_id)
    assert report.status.value == "delivered", report.detail
    assert report.per_style == {"corporate": 4, "studio": 4}
    for headshot in report.headshots:
        image = Image.open(io.BytesIO(services.store.get(headshot.key)))
        image.verify()
    assert report.gallery_link_sent and report.gallery_link_expires_at
    assert set(report.stage_seconds) == {"validate", "train", "generate", "deliver", "purge"}
    return shoot_id


def test_embedded_default_delivers_once_and_forgets_the_originals(make_services, selfies):
    services = make_services()
    shoot_id = deliver_and_check(services, selfies)

    mails = list(services.settings.mail_folder.glob("*.eml"))
    assert len(mails) == 1
    text = mails[0].read_text()
    assert f"{services.settings.public_url}/g/" in text
    token = text.split("/g/", 1)[1].split()[0]
    with services.db.session() as session:  # only the token's hash is kept; no mail row holds it
        assert session.scalar(select(GalleryLink).where(GalleryLink.token_hash == hash_token(token)))
        stored = b"".join(r.content_sealed or b"" for r in session.scalars(select(OutboxMessage)))
        assert token.encode() not in stored

    with services.db.session() as session:
        model_before = session.scalar(select(IdentityModel))
        customer_id = session.scalar(select(OriginalPhoto)).shoot.customer_id
    # Re-running a delivered shoot neither retrains nor mails again.
    photoshoot(shoot_id)
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(IdentityModel)) == 1
        assert session.scalar(select(IdentityModel)).created_at == model_before.created_at
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert session.scalar(select(func.count()).select_from(Headshot)) == 8
        photos = session.scalars(select(OriginalPhoto)).all()
    assert all(p.purged_at and not p.original_key and not p.crop_key for p in photos)
    assert len(list(services.settings.mail_folder.glob("*.eml"))) == 1

    originals = [p.data or b"" for p in selfies]
    assert_no_copies(originals, [services.settings.state_dir, prefect_home(), *ray_folders()])
    assert_no_copies(originals, [p for p in Path(tempfile.gettempdir()).glob("tmp*") if p.is_dir()])
    assert_prefect_knows_nothing_personal(customer_id)
    assert float(operator_artifact(f"training-progress-{shoot_id}")) == 100.0  # live training progress
    with services.db.session() as session:  # usage analytics: counts per hour, nobody named
        usage = {e.event: e.count for e in session.scalars(select(UsageEvent))}
    assert usage == {"shoot_started": 1, "shoot_delivered": 1}
    summary = operator_artifact(f"photoshoot-{shoot_id}")
    assert "delivered" in summary and "| train |" in summary
    assert MARK_NAME not in summary and MARK_EMAIL not in summary and customer_id not in summary
    assert_likeness_scored(services, shoot_id, customer_id)
    assert_no_face_descriptor_persisted(services, selfies)


def assert_likeness_scored(services: Services, shoot_id: str, customer_id: str) -> None:
    """Scores per headshot and the median are kept, exported, and shown to operators by id."""
    with services.db.session() as session:
        headshots = session.scalars(select(Headshot).where(Headshot.shoot_id == shoot_id)).all()
        scores = [h.likeness for h in headshots]
        shoot = headshots[0].shoot
        assert all(s is not None and 0.0 <= s <= 1.0 for s in scores), scores
        assert shoot.likeness_median is not None
        document, _ = export_document(session, services.keys, shoot.customer, now=shoot.created_at)
    exported = document["shoots"][0]
    assert exported["likeness_median"] == shoot.likeness_median
    assert sorted(h["likeness"] for h in exported["headshots"]) == sorted(s or 0.0 for s in scores)
    table = operator_artifact(f"likeness-{shoot_id}")
    assert all(h.id in table for h in headshots)
    assert customer_id not in table and MARK_NAME not in table and "prompt" not in table
    mail = next(services.settings.mail_folder.glob("*.eml")).read_text()
    assert "Likeness check" in mail  # the tiny model: told honestly that its scores are low


def assert_no_face_descriptor_persisted(services: Services, selfies: list[PhotoInput]) -> None:
    """No per-photo descriptor, nor the reference template's plain bytes, in any store we or
    Prefect or Ray keep: the state dir (database files, object storage), the key store (kept
    outside it), Prefect's home, Ray's temp folder (session logs included) and its spill folder,
    and the tmp* folders of the system temp dir. Each of the named roots must exist."""
    patterns = needles(selfies, IntakeRules.from_settings(services.settings))
    keys = services.settings.resolved_key_dir
    assert keys.is_dir() and keys != services.settings.state_dir, keys
    ray = ray_folders()
    roots = [services.settings.state_dir, keys, prefect_home(), *ray]
    roots += [p for p in Path(tempfile.gettempdir()).glob("tmp*") if p.is_dir()]
    scanned: set[Path] = set()
    for path in files_under(*roots):
        try:
            content = path.read_bytes()
        except OSError:
            continue
        scanned.add(path)
        for name, pattern in patterns.items():
            assert pattern not in content, f"face descriptor ({name}) persisted in {path}"
    for root in roots[:4]:  # none of the named stores was skipped or empty
        assert any(p.is_relative_to(root) for p in scanned), f"nothing scanned under {root}"
    ray_logs = [p for p in scanned if p.is_relative_to(ray[0]) and "logs" in p.parts]
    assert ray_logs, f"no Ray log file scanned under {ray[0]}"


def operator_artifact(key: str) -> str:
    """What operators see in the Prefect UI under an artifact key (latest version)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert found, f"no artifact {key}"
    return str(found[-1].data)


@pytest.mark.postgres
@pytest.mark.s3
def test_postgres_s3_sendgrid_by_configuration_alone(
    make_services, selfies, postgres_url, s3_server, sendgrid
):
    bucket = s3_server.versioned_bucket()
    services = make_services(
        database_url=postgres_url,
        storage_url=f"s3://{bucket}/headpix",
        s3_endpoint_url=s3_server.endpoint,
        s3_access_key_id="test",
        s3_secret_access_key="test",
        mail_backend="sendgrid",
        sendgrid_api_key="SG.test",
        sendgrid_host=sendgrid.url,
    )
    shoot_id = deliver_and_check(services, selfies)
    photoshoot(shoot_id)  # again: still one message
    assert len(sendgrid.messages) == 1
    assert sendgrid.messages[0]["personalizations"][0]["to"][0]["email"] == MARK_EMAIL

    keys = [v["Key"] for v in s3_server.all_versions(bucket)]
    assert not [k for k in keys if "/originals/" in k or "/crops/" in k], "original versions left"
    assert sum("/headshots/" in k for k in keys) == 8
    identity = sorted(k.rsplit(".", 1)[-1] for k in keys if "/identity/" in k)
    assert identity == ["safetensors", "template"]  # the identity model and its reference face
    originals = [p.data or b"" for p in selfies]
    for version in s3_server.all_versions(bucket):
        if "VersionId" in version and "Size" in version:
            body = (
                s3_server.client()
                .get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"]
                .read()
            )
            assert body not in originals


def test_crashed_shoot_resumes_where_it_stopped(make_services, selfies):
    services = make_services()
    from headpix import stages
    from headpix.shoots import receive_shoot, register_customer

    with services.db.session() as session:
        customer = register_customer(session, services.keys, signup("crash@example.com"), channel="cli")
        session.expunge(customer)
    shoot_id = receive_shoot(services, customer, [(p.file, p.data or b"") for p in selfies])
    stages.validate(services, shoot_id)  # then the worker "crashes": status stays validating
    assert shoot_report(services, shoot_id).status.value == "validating"
    runner.resume(services, shoot_id)
    assert shoot_report(services, shoot_id).status.value == "delivered"


def test_shoot_crashed_while_delivering_resumes_to_delivered(make_services, selfies):
    """The run died after rendering, mid-delivery (its worker was killed): the resumed run renders
    nothing again and delivers (found on the stack, where the resume failed on the transition)."""
    services = make_services()
    from headpix import stages
    from headpix.shoots import S, advance, load_shoot, receive_shoot, register_customer

    with services.db.session() as session:
        customer = register_customer(session, services.keys, signup("deliver@example.com"), channel="cli")
        session.expunge(customer)
    shoot_id = receive_shoot(services, customer, [(p.file, p.data or b"") for p in selfies])
    stages.validate(services, shoot_id)
    stages.train(services, shoot_id)
    stages.generate(services, shoot_id)
    with services.db.session() as session:
        advance(load_shoot(session, shoot_id), S.delivering)  # then the worker "crashes"
    with services.db.session() as session:
        rendered = {h.id: h.rendered_at for h in load_shoot(session, shoot_id).headshots}
    runner.resume(services, shoot_id)
    assert shoot_report(services, shoot_id).status.value == "delivered"
    with services.db.session() as session:
        assert {h.id: h.rendered_at for h in load_shoot(session, shoot_id).headshots} == rendered


def test_cancel_deletes_originals_and_stops_the_shoot(make_services, selfies):
    services = make_services()
    from headpix.shoots import receive_shoot, register_customer
    from headpix.storage import Keys

    with services.db.session() as session:
        customer = register_customer(session, services.keys, signup("cancel@example.com"), channel="cli")
        session.expunge(customer)
    shoot_id = receive_shoot(services, customer, [(p.file, p.data or b"") for p in selfies])
    runner.cancel(services, shoot_id)
    assert shoot_report(services, shoot_id).status.value == "cancelled"
    assert services.store.version_count(Keys.shoot(customer.id, shoot_id)) == 0
    late = photoshoot(shoot_id, return_state=True)  # a late run does nothing, and says so
    assert late.is_cancelled(), late
    assert shoot_report(services, shoot_id).status.value == "cancelled"
