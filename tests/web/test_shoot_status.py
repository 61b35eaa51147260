"""Following a shoot: stage words, progress read defensively, failures in human words, cancel."""

from __future__ import annotations

from fastapi.testclient import TestClient

from headpix import sessions
from schemas.api import CustomerSignup, Gender
from schemas.models import Photoshoot
from tests.web.conftest import WebServer
from web import core


def shoot_for(web: WebServer, email: str, status: str, detail: str = "") -> tuple[str, TestClient]:
    customer_id = core.sign_up(web.services, CustomerSignup(name="Sam", email=email, gender=Gender.man))
    with web.services.db.session() as session:
        shoot = Photoshoot(customer_id=customer_id, status=status, status_detail=detail, styles=["studio"])
        session.add(shoot)
        session.flush()
        shoot_id = shoot.id
    client = TestClient(web.app, base_url=web.url)
    client.cookies.set("hpx_session", sessions.create_session(web.services, customer_id=customer_id))
    return shoot_id, client


def test_a_failure_shows_human_words_never_internals(web: WebServer):
    detail = (
        'Traceback (most recent call last):\n  File "/srv/x.py", line 1\nRuntimeError: CUDA out of memory'
    )
    shoot_id, client = shoot_for(web, "failed.shoot@example.com", "failed", detail)
    status = client.get(f"/api/shoots/{shoot_id}").json()
    assert status["finished"] and status["stage"] == "We couldn't finish your photoshoot"
    assert "try again" in status["message"]
    page = client.get(f"/shoots/{shoot_id}").text
    assert "Traceback" not in page and "CUDA" not in page and "try again" in page


def test_training_progress_and_cancel(web: WebServer):
    shoot_id, client = shoot_for(web, "cancel.shoot@example.com", "training")
    status = client.get(f"/api/shoots/{shoot_id}").json()
    assert status["stage"] == "Learning your likeness" and not status["finished"]
    assert status["percent"] is not None and 0 < status["percent"] < 100
    cancelled = client.post(f"/api/shoots/{shoot_id}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["finished"]
    again = client.post(f"/api/shoots/{shoot_id}/cancel")
    assert again.status_code == 409 and again.json()["error"] == "not_cancellable"


def test_training_progress_is_read_from_the_shoot_row(web: WebServer):
    shoot_id, client = shoot_for(web, "progress.steps@example.com", "training")
    with web.services.db.session() as session:
        shoot = session.get(Photoshoot, shoot_id)
        assert shoot is not None
        shoot.progress_step, shoot.progress_total = 15, 30
    status = client.get(f"/api/shoots/{shoot_id}").json()
    # Training spans 10 % to 60 % of the bar: half of its steps is 35 %.
    assert (status["progress_step"], status["progress_total"], status["percent"]) == (15, 30, 35)
    assert status["message"] == "Training step 15 of 30."
    page = client.get(f"/shoots/{shoot_id}").text
    assert 'value="35"' in page and "35%" in page and "Training step 15 of 30." in page
