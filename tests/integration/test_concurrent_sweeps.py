"""Two sweeps started at once on PostgreSQL: each item is done by exactly one of them."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from headpix import retention
from headpix.app.wiring import install_launcher
from headpix.outbox import enqueue
from headpix.services import Services
from schemas.models import OutboxMessage
from schemas.privacy import RetentionIncident
from tests.integration.test_retention import T0, add_customer, add_shoot

pytestmark = pytest.mark.postgres


def test_two_sweeps_at_once_delete_each_item_once(make_services, fresh_postgres_url):
    services = make_services(database_url=fresh_postgres_url)
    for n in range(8):
        customer = add_customer(services, f"c{n}@example.com", now=T0)
        add_shoot(services, customer, now=T0, status="training", keep_originals=True)
    with services.db.session() as session:
        for n in range(30):
            row = enqueue(
                session,
                services.keys,
                dedup_key=f"old:{n}",
                kind="delivery",
                customer_id=customer,
                to="x@example.com",
                subject="s",
                body="b",
            )
            row.status, row.sent_at = "sent", T0
    now = T0 + timedelta(days=4)
    other = install_launcher(Services(services.settings))  # a second process: its own engine and connections
    start = threading.Barrier(2)
    results: list[retention.SweepResult] = []

    def run(svc: Services) -> None:
        start.wait()
        results.append(retention.sweep(svc, now))

    threads = [threading.Thread(target=run, args=(svc,)) for svc in (services, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.db.dispose()

    assert len(results) == 2
    assert sum(r.leftover_objects for r in results) == 8 * 4
    assert sum(r.mail_bodies_deleted for r in results) == 30
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(RetentionIncident)) == 16
        assert session.scalar(select(func.count()).where(OutboxMessage.content_sealed.is_not(None))) == 0
