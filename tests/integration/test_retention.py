"""The retention sweep, category by category, driven by its as-of clock (nothing mocked)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from headpix import compliance, personal, retention
from headpix.app.cli import main
from headpix.services import Services
from headpix.storage import Keys
from schemas.models import (
    Customer,
    GalleryLink,
    Headshot,
    IdentityModel,
    OriginalPhoto,
    OutboxMessage,
    Photoshoot,
)
from schemas.privacy import PrivacyRequest, RetentionIncident
from tests.integration.test_privacy_requests import cli, mails_to

T0 = datetime(2027, 1, 1, tzinfo=UTC)

# Helpers (the concurrent-sweep and simulated-month tests use them too).


def add_customer(services: Services, email: str, *, now: datetime, name: str | None = None) -> str:
    with services.db.session() as session:
        customer = personal.new_customer(
            services.keys,
            name=name or f"Customer {email.split('@')[0].title()}",
            email=email,
            preferences={},
            gender="woman",
            policy_version="2026-11",
            consented_at=now,
            created_at=now,
            last_active_at=now,
        )
        session.add(customer)
        session.flush()
        return customer.id


def add_shoot(
    services: Services,
    customer_id: str,
    *,
    now: datetime,
    status: str = "delivered",
    photos: int = 2,
    headshots: int = 2,
    keep_originals: bool = False,
) -> str:
    """A shoot as the photoshoot flow leaves it (rows and sealed objects), without running it."""
    with services.db.session() as session:
        shoot = Photoshoot(
            customer_id=customer_id,
            status=status,
            created_at=now,
            delivered_at=now if status == "delivered" else None,
        )
        session.add(shoot)
        session.flush()
        for ordinal in range(photos):
            photo = OriginalPhoto(
                shoot_id=shoot.id,
                ordinal=ordinal,
                filename_sealed=personal.seal_filename(services.keys, customer_id, f"selfie{ordinal}.jpg"),
                sha256=uuid.uuid4().hex * 2,
                size_bytes=4,
                uploaded_at=now,
                verdict="accepted",
            )
            session.add(photo)
            session.flush()
            if keep_originals:
                photo.original_key = Keys.original(customer_id, shoot.id, photo.id)
                photo.crop_key = Keys.crop(customer_id, shoot.id, photo.id)
                services.store.put(photo.original_key, b"original")
                services.store.put(photo.crop_key, b"crop")
            else:
                photo.purged_at = now
        if status == "delivered":
            model = IdentityModel(
                shoot_id=shoot.id,
                weights_key="",
                base_model="tiny-sd",
                steps=1,
                first_loss=1.0,
                final_loss=0.5,
                created_at=now,
            )
            session.add(model)
            session.flush()
            model.weights_key = Keys.identity_model(customer_id, shoot.id, model.id)
            services.store.put(model.weights_key, b"lora")
            template = Keys.reference_template(customer_id, shoot.id, model.id)
            services.store.put(template, b"reference face")  # sealed beside the model
            for ordinal in range(headshots):
                headshot = Headshot(
                    shoot_id=shoot.id,
                    ordinal=ordinal,
                    style="studio",
                    seed=1,
                    key="",
                    rendered_at=now,
                )
                personal.seal_prompts(services.keys, customer_id, headshot, prompt="p", negative="")
                session.add(headshot)
                session.flush()
                headshot.key = Keys.headshot(customer_id, shoot.id, headshot.id)
                services.store.put(headshot.key, b"png")
            session.add(
                GalleryLink(
                    shoot_id=shoot.id,
                    token_hash=shoot.id.replace("-", "")[:64],
                    expires_at=now + timedelta(days=30),
                )
            )
        return shoot.id


def objects(services: Services, customer_id: str, shoot_id: str, kind: str) -> int:
    return services.raw_store.version_count(Keys.shoot(customer_id, shoot_id) + f"{kind}/")


def count(services: Services, table: type, *where: object) -> int:
    with services.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)  # type: ignore[arg-type]


@pytest.fixture
def services(make_services):
    return make_services()


def test_leftover_original_is_found_deleted_and_reported(services, capsys):
    customer = add_customer(services, "grace@example.com", now=T0)
    crashed = add_shoot(services, customer, now=T0, status="training", keep_originals=True)
    paused = add_shoot(services, customer, now=T0, status="paused", keep_originals=True)
    assert objects(services, customer, crashed, "originals") == 2

    early = retention.sweep(services, T0 + timedelta(hours=71))
    assert early.leftover_objects == 0 and objects(services, customer, crashed, "originals") == 2

    found = retention.sweep(services, T0 + timedelta(hours=73))
    assert found.leftover_objects == 4
    assert objects(services, customer, crashed, "originals") == 0
    assert objects(services, customer, crashed, "crops") == 0
    assert objects(services, customer, paused, "originals") == 2, "a paused shoot keeps its files"
    assert count(services, RetentionIncident) == 2  # originals and crops of the crashed shoot
    assert count(services, OriginalPhoto, OriginalPhoto.original_key.is_not(None)) == 2  # the paused ones

    again = retention.sweep(services, T0 + timedelta(hours=74))
    assert again.leftover_objects == 0 and count(services, RetentionIncident) == 2

    code, report = cli(capsys, "compliance", "report", "--as-of", (T0 + timedelta(hours=75)).isoformat())
    assert code == 0
    assert {x["shoot_id"] for x in report["leftovers"]} == {crashed}
    assert sum(x["object_count"] for x in report["leftovers"]) == 4
    assert "Customer Grace" not in str(report) and customer not in str(report)


def test_headshots_and_identity_models_expire_after_delivery(services):
    customer = add_customer(services, "ada@example.com", now=T0)
    shoot = add_shoot(services, customer, now=T0)
    settings = services.settings
    assert settings.identity_model_retention_days < settings.headshot_retention_days

    with services.db.session() as session:
        model_id = session.scalars(select(IdentityModel.id).where(IdentityModel.shoot_id == shoot)).one()
    template = Keys.reference_template(customer, shoot, model_id)
    assert services.raw_store.version_count(template) == 1
    assert objects(services, customer, shoot, "identity") == 2  # the weights and the reference face

    model_day = T0 + timedelta(days=settings.identity_model_retention_days, hours=1)
    result = retention.sweep(services, model_day)
    assert result.identity_models_expired == 1 and result.headshots_expired == 0
    assert objects(services, customer, shoot, "identity") == 0
    assert services.raw_store.version_count(template) == 0, "the face template outlived its model"
    assert objects(services, customer, shoot, "headshots") == 2

    result = retention.sweep(services, T0 + timedelta(days=settings.headshot_retention_days, hours=1))
    assert result.headshots_expired == 2
    assert objects(services, customer, shoot, "headshots") == 0
    assert count(services, Headshot) == 0 and count(services, IdentityModel) == 0
    assert count(services, GalleryLink) == 0
    assert retention.sweep(services, T0 + timedelta(days=60)).headshots_expired == 0


def test_unconfirmed_requests_expire_and_sent_mail_bodies_go(services):
    from headpix.privacy.requests import RequestType, submit

    add_customer(services, "ada@example.com", now=T0)
    view = submit(services, RequestType.erasure, "ada@example.com", now=T0)
    assert count(services, OutboxMessage, OutboxMessage.content_sealed.is_not(None)) == 1

    result = retention.sweep(services, T0 + timedelta(hours=1))
    assert result.mail_bodies_deleted == 1 and result.requests_expired == 0
    with services.db.session() as session:
        sent = session.scalars(select(OutboxMessage)).one()
        assert sent.status == "sent" and sent.content_sealed is None and sent.recipient_sealed is None

    hours = services.settings.request_token_hours
    result = retention.sweep(services, T0 + timedelta(hours=hours + 1))
    assert result.requests_expired == 1
    with services.db.session() as session:
        request = session.get(PrivacyRequest, view.request_id)
        assert request is not None and request.status == "cancelled" and request.token_hash is None
    assert retention.sweep(services, T0 + timedelta(hours=hours + 2)).requests_expired == 0


def test_inactive_customer_is_warned_then_erased_unless_they_come_back(services):
    leaving = add_customer(services, "leaving@example.com", now=T0)
    returning = add_customer(services, "back@example.com", now=T0)
    add_shoot(services, leaving, now=T0)
    inactive = T0 + timedelta(days=services.settings.inactivity_days, hours=1)

    result = retention.sweep(services, inactive)
    assert result.inactivity_warnings == 2
    assert len(mails_to(services, "leaving@example.com")) == 1
    assert retention.sweep(services, inactive + timedelta(hours=6)).inactivity_warnings == 0

    with services.db.session() as session:  # the returning customer signs in
        customer = session.get(Customer, returning)
        assert customer is not None
        customer.last_active_at = inactive + timedelta(days=2)

    grace = timedelta(days=services.settings.inactivity_grace_days)
    before = retention.sweep(services, inactive + grace - timedelta(hours=1))
    assert before.inactivity_erasures == 0
    after = retention.sweep(services, inactive + grace + timedelta(hours=1))
    assert after.inactivity_erasures == 1 and after.overdue == 0
    with services.db.session() as session:
        assert session.get(Customer, leaving) is None
        assert session.get(Customer, returning) is not None
        request = session.scalars(select(PrivacyRequest)).one()
        assert request.status == "completed"
    assert retention.sweep(services, inactive + grace + timedelta(hours=7)).inactivity_erasures == 0


def test_retention_cli_as_of_json(services, capsys):
    code, data = cli(capsys, "retention", "sweep", "--as-of", "2027-01-02")
    assert code == 0 and data["as_of"] == "2027-01-02T00:00:00+00:00"
    assert set(retention.SweepResult().to_json()) <= set(data) and data["overdue"] == 0
    assert main(["retention", "sweep", "--as-of", "yesterday"]) == 2


def test_sweep_flow_leaves_table_and_markdown_artifacts(services):
    import asyncio

    from prefect.client.orchestration import get_client

    from flows.retention import retention_sweep

    customer = add_customer(services, "grace@example.com", now=T0)
    add_shoot(services, customer, now=T0, status="training", keep_originals=True)
    counts = retention_sweep(as_of=(T0 + timedelta(days=4)).isoformat())
    assert counts["leftover_objects"] == 4 and counts["overdue"] == 0

    async def artifacts() -> dict[str, object]:
        async with get_client() as client:
            found = await client.read_latest_artifacts()
            return {a.key: a.data for a in found if a.key}

    data = asyncio.run(artifacts())
    assert "compliance-report" in data and "compliance-summary" in data
    text = str(data["compliance-report"]) + str(data["compliance-summary"])
    assert "leftover" in text and customer not in text and "Customer Grace" not in text


def test_report_is_the_same_for_cli_and_artifact(services):
    report = compliance.build_report(services, T0)
    assert report.overdue == 0 and report.table()[0]["section"] == "overdue erasures"
    assert "Compliance report" in report.markdown()
