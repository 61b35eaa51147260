"""Every path that starts an erasure, on PostgreSQL + versioned S3: each ends completed, clean.

SQLite grants every advisory lock; these paths (sweep, hold release, inactivity) once claimed
the request twice on PostgreSQL and silently did nothing, so they are tested there.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from headpix import policy, retention
from headpix.privacy import holds
from headpix.privacy.erasure import run_erasure
from headpix.services import Services
from schemas.models import Customer, utcnow
from schemas.privacy import DeletionReceipt
from tests.e2e.erasure_support import (
    CLEAN,
    RecordingLauncher,
    customer_with_objects,
    nothing_left,
    request_and_confirm,
    status_of,
    token_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


@pytest.fixture
def pg_s3(make_services, fresh_postgres_url, s3_server) -> Services:
    bucket = s3_server.versioned_bucket()
    return make_services(
        database_url=fresh_postgres_url,
        storage_url=f"s3://{bucket}/hp",
        s3_endpoint_url=s3_server.endpoint,
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )


def assert_erased(services: Services, customer_id: str, request_id: str) -> None:
    assert status_of(services, request_id) == "completed"
    assert nothing_left(services, customer_id) == CLEAN
    with services.db.session() as session:
        receipt = session.query(DeletionReceipt).filter_by(request_id=request_id).one()
        assert receipt.receipt["receipt"]["verification"]["clean"] is True


def test_confirmation(pg_s3):
    customer_id, _ = customer_with_objects(pg_s3, "zq.confirm@example.com")
    assert pg_s3.raw_store.version_count(f"customers/{customer_id}/") >= 4
    request_id = request_and_confirm(pg_s3, "zq.confirm@example.com")
    assert_erased(pg_s3, customer_id, request_id)


def test_sweep_after_the_due_date(pg_s3):
    customer_id, _ = customer_with_objects(pg_s3, "zq.sweep@example.com")
    workers_down = RecordingLauncher()
    pg_s3.use_launcher(workers_down)
    request_id = request_and_confirm(pg_s3, "zq.sweep@example.com")
    assert ("erasure", request_id) in workers_down.started
    assert status_of(pg_s3, request_id) == "confirmed"
    result = retention.sweep(pg_s3, utcnow() + timedelta(hours=1))
    assert result.erasures == 1 and not result.failed
    assert_erased(pg_s3, customer_id, request_id)


def test_hold_release(pg_s3):
    customer_id, _ = customer_with_objects(pg_s3, "zq.hold@example.com")
    hold_id = holds.place(
        pg_s3, customer_id=customer_id, case_ref="CASE-1", review_by=utcnow() + timedelta(days=30)
    )
    request_id = request_and_confirm(pg_s3, "zq.hold@example.com")
    assert status_of(pg_s3, request_id) == "on_hold"
    assert pg_s3.raw_store.version_count(f"customers/{customer_id}/") > 0
    released = holds.release(pg_s3, hold_id)
    assert released.erasures == {request_id: "completed"}
    assert_erased(pg_s3, customer_id, request_id)


def test_hold_release_then_sweep(pg_s3):
    """As operators report it: release, then the hourly sweep; it must not stay on_hold."""
    customer_id, _ = customer_with_objects(pg_s3, "zq.hold2@example.com")
    hold_id = holds.place(
        pg_s3, customer_id=customer_id, case_ref="CASE-2", review_by=utcnow() + timedelta(days=30)
    )
    workers_down = RecordingLauncher()
    pg_s3.use_launcher(workers_down)
    request_id = request_and_confirm(pg_s3, "zq.hold2@example.com")
    run_erasure(pg_s3, request_id)  # the worker's run: waits on the hold
    assert status_of(pg_s3, request_id) == "on_hold"
    with pg_s3.db.session() as session:
        from schemas.privacy import LegalHold

        session.get(LegalHold, hold_id).released_at = utcnow()  # released elsewhere; sweep finishes
    retention.sweep(pg_s3, utcnow() + timedelta(hours=1))
    assert_erased(pg_s3, customer_id, request_id)


def test_inactivity(pg_s3):
    customer_id, _ = customer_with_objects(pg_s3, "zq.inactive@example.com")
    long_ago = utcnow() - timedelta(days=pg_s3.settings.inactivity_days + 1)
    with pg_s3.db.session() as session:
        session.execute(update(Customer).where(Customer.id == customer_id).values(last_active_at=long_ago))
    now = utcnow()
    assert retention.sweep(pg_s3, now).inactivity_warnings == 1
    later = now + timedelta(days=pg_s3.settings.inactivity_grace_days + 1)
    result = retention.sweep(pg_s3, later)
    assert result.inactivity_erasures == 1 and not result.failed
    with pg_s3.db.session() as session:
        from sqlalchemy import select

        from schemas.privacy import PrivacyRequest

        request_id = session.scalar(select(PrivacyRequest.id).where(PrivacyRequest.type == "erasure"))
    assert request_id is not None
    assert_erased(pg_s3, customer_id, request_id)


def test_consent_withdrawal(pg_s3):
    customer_id, _ = customer_with_objects(pg_s3, "zq.withdraw@example.com")
    now = utcnow()
    policy.publish(pg_s3, "2099-01", effective_at=now + timedelta(days=20), text="New terms.", now=now)
    withdrawal = policy.withdraw_consent(pg_s3, "zq.withdraw@example.com", "2099-01", now=now)
    from headpix.privacy import requests

    requests.confirm(pg_s3, withdrawal.request_id, token_for(pg_s3, withdrawal.request_id), now=now)
    assert_erased(pg_s3, customer_id, withdrawal.request_id)
