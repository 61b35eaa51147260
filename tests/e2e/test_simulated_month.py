"""A simulated month: sign-ups, shoots, erasures on different days (one under a legal hold), a
planted leftover, and the retention sweep every 6 simulated hours through its as-of clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from headpix import retention
from headpix.privacy import holds, receipts
from headpix.privacy.requests import RequestType, confirm, submit
from headpix.storage import Keys
from schemas.models import Customer
from schemas.privacy import DeletionReceipt, PrivacyRequest, RetentionIncident
from tests.integration.test_privacy_requests import token_from_mail
from tests.integration.test_retention import T0, add_customer, add_shoot

pytestmark = pytest.mark.e2e

ERASE_ON_DAY = {0: 2, 1: 4, 2: 9, 3: 12, 4: 5}  # customer -> day of the erasure request
HELD_CUSTOMER, HOLD_DAY, RELEASE_DAY, LEFTOVER_DAY = 1, 1, 20, 3


def test_simulated_month(make_services):
    services = make_services()
    customers: dict[int, str] = {}
    requests: dict[int, str] = {}
    hold_id = ""
    leftover_shoot = ""
    found_leftover_at = None

    for step in range(30 * 4):
        now = T0 + timedelta(hours=6 * step)
        day, hour = divmod(6 * step, 24)
        if hour == 0:
            if day < 6:  # one sign-up and delivered shoot a day
                customers[day] = add_customer(services, f"customer{day}@example.com", now=now)
                add_shoot(services, customers[day], now=now)
            if day == HOLD_DAY:
                hold_id = holds.place(
                    services,
                    customer_id=customers[HELD_CUSTOMER],
                    case_ref="CASE-7",
                    review_by=now + timedelta(days=10),
                    now=now,
                )
            if day == LEFTOVER_DAY:  # a crashed shoot leaves its originals behind
                leftover_shoot = add_shoot(
                    services, customers[2], now=now, status="training", keep_originals=True
                )
            for index, erase_day in ERASE_ON_DAY.items():
                if erase_day == day:
                    view = submit(services, RequestType.erasure, f"customer{index}@example.com", now=now)
                    confirm(
                        services,
                        view.request_id,
                        token_from_mail(services, view.request_id),
                        now=now + timedelta(hours=1),
                    )
                    requests[index] = view.request_id
            if day == RELEASE_DAY:
                held_customer = customers[HELD_CUSTOMER]
                assert services.raw_store.version_count(Keys.customer(held_customer)) > 0
                with services.db.session() as session:
                    assert session.get(Customer, held_customer) is not None
                    assert session.get(PrivacyRequest, requests[HELD_CUSTOMER]).status == "on_hold"
                released = holds.release(services, hold_id, now=now)
                assert released.erasures == {requests[HELD_CUSTOMER]: "completed"}
                assert services.raw_store.version_count(Keys.customer(held_customer)) == 0
        result = retention.sweep(services, now)
        assert result.overdue == 0, f"overdue at {now}"
        if result.leftover_objects and found_leftover_at is None:
            found_leftover_at = now

    assert found_leftover_at is not None
    assert found_leftover_at - (T0 + timedelta(days=LEFTOVER_DAY)) <= timedelta(
        hours=services.settings.originals_max_age_hours + 6
    )
    public_key = receipts.public_key_text(services.settings)
    with services.db.session() as session:
        incidents = session.scalars(select(RetentionIncident)).all()
        assert {i.shoot_id for i in incidents} == {leftover_shoot}
        for request_id in requests.values():
            request = session.get(PrivacyRequest, request_id)
            assert request is not None and request.status == "completed", request_id
            assert request.confirmed_at is not None and request.completed_at is not None
            elapsed = request.completed_at - request.confirmed_at - timedelta(seconds=request.held_seconds)
            assert elapsed <= timedelta(days=14)
            receipt = session.scalars(
                select(DeletionReceipt).where(DeletionReceipt.request_id == request_id)
            ).one()
            assert receipts.verify(receipt.receipt, public_key)
