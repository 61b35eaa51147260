"""The web layer's sweep categories: stale drafts, unproven sign-ups, gallery-expiry reminders."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from headpix import drafts, retention, sessions
from headpix.samples import sample_photos
from schemas.api import CustomerSignup, Gender
from schemas.models import Customer, OutboxMessage, Photoshoot, utcnow
from schemas.web import DraftPhoto
from web import core


def signup(services, email: str) -> str:
    return core.sign_up(services, CustomerSignup(name="Sweep", email=email, gender=Gender.man))


def test_drafts_and_unproven_signups_go_after_a_day(make_services):
    services = make_services()
    proven = signup(services, "proven.sweep@example.com")
    sessions.use_sign_in_link(services, sessions.create_sign_in_link(services, customer_id=proven))
    unproven = signup(services, "unproven.sweep@example.com")
    name, data = sample_photos(1)[0]
    for customer_id in (proven, unproven):
        drafts.add_photo(services, customer_id=customer_id, filename=name, data=data, sha256="0", phash="0")
    assert retention.sweep(services, utcnow() + timedelta(hours=1)).drafts_deleted == 0
    result = retention.sweep(services, utcnow() + timedelta(hours=25))
    assert result.drafts_deleted == 2 and result.unproven_signups == 1
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DraftPhoto)) == 0
        assert session.get(Customer, proven) is not None and session.get(Customer, unproven) is None
    assert services.raw_store.version_count(f"customers/{unproven}/") == 0
    assert services.raw_store.version_count(f"customers/{proven}/drafts/") == 0
    assert not services.keys.has_key(unproven)


def test_a_reminder_is_mailed_once_before_headshots_expire(make_services):
    services = make_services()
    customer_id = signup(services, "remind.me@example.com")
    delivered = utcnow()
    with services.db.session() as session:
        session.add(Photoshoot(customer_id=customer_id, status="delivered", delivered_at=delivered))
    retention_days = services.settings.headshot_retention_days
    early = delivered + timedelta(days=retention_days - services.settings.gallery_reminder_days - 1)
    assert retention.sweep(services, early).gallery_reminders == 0
    due = delivered + timedelta(days=retention_days - 1)
    assert retention.sweep(services, due).gallery_reminders == 1
    assert retention.sweep(services, due + timedelta(hours=1)).gallery_reminders == 0
    with services.db.session() as session:
        mail = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "gallery_reminder"))
        assert mail is not None and mail.status == "sent"
