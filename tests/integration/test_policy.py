"""Policy versions: 14 days' notice, one notice per customer, consent withdrawal schedules erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from headpix import policy
from headpix.analytics import count
from headpix.errors import CommandError
from schemas.api import CustomerSignup, Gender, Preferences
from schemas.models import OutboxMessage
from schemas.privacy import Consent, PrivacyRequest, Suppression, UsageEvent
from tests.integration.test_privacy_requests import cli, mails_to
from tests.integration.test_retention import add_customer

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def services(make_services):
    return make_services()


def test_thirteen_days_is_refused_fourteen_sends_one_notice_each(services, capsys, tmp_path):
    for name in ("ada", "grace", "edsger"):
        add_customer(services, f"{name}@example.com", now=NOW)
    with services.db.session() as session:  # marketing objection must not suppress a legal notice
        session.add(Suppression(address_hash="x" * 64))
    text = tmp_path / "policy.txt"
    text.write_text("We now keep headshots for 30 days.")

    code, refused = cli(
        capsys,
        "policy",
        "publish",
        "2027-04",
        "--effective",
        "2027-03-14T09:00",
        "--text",
        str(text),
        "--as-of",
        NOW.isoformat(),
    )
    assert code == 1 and refused["error"] == "notice_too_short"
    assert "at least 14 days" in refused["message"] and "2027-03-15T09:00:00+00:00" in refused["message"]

    code, published = cli(
        capsys,
        "policy",
        "publish",
        "2027-04",
        "--effective",
        "2027-03-15T09:00",
        "--text",
        str(text),
        "--as-of",
        NOW.isoformat(),
    )
    assert code == 0 and published["notices_sent"] == 3 and published["created"] is True
    assert len(mails_to(services, "ada@example.com")) == 1

    assert policy.send_notices(services, "2027-04") == 0  # the notice flow again: nothing new
    code, again = cli(
        capsys,
        "policy",
        "publish",
        "2027-04",
        "--effective",
        "2027-03-15T09:00",
        "--text",
        str(text),
        "--as-of",
        (NOW + timedelta(days=1)).isoformat(),
    )
    assert code == 0 and again["notices_sent"] == 0 and again["created"] is False
    with services.db.session() as session:
        notices = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "policy_notice")).all()
        assert len(notices) == 3 and {n.category for n in notices} == {"transactional"}
    text.write_text("Another text")
    with pytest.raises(CommandError, match="new version"):
        policy.publish(services, "2027-04", effective_at=NOW + timedelta(days=15), text="x", now=NOW)

    code, report = cli(capsys, "compliance", "report", "--as-of", NOW.isoformat())
    assert report["policy_notices"][0]["sent"] == 3


def test_withdrawal_in_window_schedules_erasure_before_effect(services, capsys):
    customer_id = add_customer(services, "ada@example.com", now=NOW)
    effective = NOW + timedelta(days=14)
    policy.publish(services, "2027-04", effective_at=effective, text="new", now=NOW)

    code, data = cli(
        capsys,
        "consent",
        "withdraw",
        "--email",
        "ada@example.com",
        "--version",
        "2027-04",
        "--as-of",
        (NOW + timedelta(days=10)).isoformat(),
    )
    assert code == 0 and data["status"] == "awaiting_confirmation"
    assert datetime.fromisoformat(data["due_at"]) <= effective
    with services.db.session() as session:
        consent = session.scalars(select(Consent).where(Consent.action == "withdrawn")).one()
        assert consent.customer_id == customer_id and consent.policy_version == "2027-04"
        request = session.get(PrivacyRequest, data["request_id"])
        assert request is not None and request.type == "erasure"

    with pytest.raises(CommandError, match="between its publication"):
        policy.withdraw_consent(services, "ada@example.com", "2027-04", now=effective + timedelta(hours=1))


def test_signup_records_consent_and_usage_has_no_customer(services):
    from headpix.shoots import register_customer

    with services.db.session() as session:
        customer = register_customer(
            session,
            services.keys,
            CustomerSignup(
                name="Ada", email="ada@example.com", gender=Gender.woman, preferences=Preferences()
            ),
            channel="web",
        )
        count(session, "shoot_started", NOW)
        count(session, "shoot_started", NOW + timedelta(minutes=20))
    with services.db.session() as session:
        consent = session.scalars(select(Consent)).one()
        assert (consent.customer_id, consent.action, consent.channel) == (customer.id, "accepted", "web")
        event = session.scalars(select(UsageEvent)).one()
        assert event.count == 2 and event.hour == NOW.replace(minute=0)
        assert set(UsageEvent.__table__.columns.keys()) == {"id", "hour", "event", "count"}
