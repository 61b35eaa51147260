"""A GPU worker dies in the middle of training: the pool replaces it and the shoot still delivers."""

from __future__ import annotations

import threading
import time

import pytest

from flows.photoshoot import photoshoot
from headpix.samples import sample_photos
from headpix.shoots import receive_shoot, register_customer, shoot_report
from schemas.api import CustomerSignup, Gender

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("ray_local")]


def test_killed_actor_mid_training_still_delivers(make_services):
    services = make_services(train_steps=150)
    with services.db.session() as session:
        customer = register_customer(
            session,
            services.keys,
            CustomerSignup(name="K", email="kill@example.com", gender=Gender.man),
            channel="cli",
        )
        session.expunge(customer)
    shoot_id = receive_shoot(services, customer, sample_photos(5))
    pool = services.pool
    run = threading.Thread(target=photoshoot, args=(shoot_id,))
    run.start()
    deadline = time.monotonic() + 120
    while not any(pool.busy().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shoot_report(services, shoot_id).status.value == "training"
    victim = max(pool.busy().items(), key=lambda item: item[1])[0]
    time.sleep(1.0)  # inside the 150 steps
    pool.kill_actor(victim)
    run.join(timeout=300)
    report = shoot_report(services, shoot_id)
    assert report.status.value == "delivered", report.detail
    assert len(report.headshots) == 8
