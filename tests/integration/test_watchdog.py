"""The watchdog's judgement, on the embedded database with a launcher that records what it is asked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from headpix.samples import sample_photos
from headpix.shoots import receive_shoot, register_customer
from headpix.watchdog import GAVE_UP, check_shoots
from schemas.api import CustomerSignup, Gender
from schemas.models import Photoshoot, utcnow


class RecordingLauncher:
    def __init__(self, running: bool | None) -> None:
        self.running = running
        self.started: list[tuple[str, int]] = []
        self.abandoned: list[str] = []

    def start_shoot(self, shoot_id: str, *, attempt: int = 0) -> None:
        self.started.append((shoot_id, attempt))

    def cancel_shoot(self, shoot_id: str) -> None: ...

    def start_erasure(self, request_id: str, *, as_of: Any = None) -> None: ...

    def send_policy_notices(self, version: str) -> None: ...

    def is_running(self, shoot_id: str) -> bool | None:
        return self.running

    def abandon(self, shoot_id: str, *, reason: str) -> int:
        self.abandoned.append(shoot_id)
        return 1


def a_shoot(services: Any, *, quiet_s: float, attempt: int = 0) -> str:
    with services.db.session() as session:
        signup = CustomerSignup(name="Wd Test", email="wd@example.com", gender=Gender.man)
        customer = register_customer(session, services.keys, signup, channel="cli")
        session.expunge(customer)
    shoot_id = receive_shoot(services, customer, sample_photos(4))
    with services.db.session() as session:
        shoot = session.get(Photoshoot, shoot_id)
        assert shoot is not None
        shoot.status, shoot.attempt = "training", attempt
        shoot.heartbeat_at = utcnow() - timedelta(seconds=quiet_s)
    return shoot_id


def test_silent_running_shoot_is_abandoned_and_resumed(make_services) -> None:
    services = make_services(watchdog_silence_s=30, watchdog_grace_s=5)
    launcher = RecordingLauncher(running=True)
    services.use_launcher(launcher)
    shoot_id = a_shoot(services, quiet_s=60)
    report = check_shoots(services)
    assert report.resumed == [shoot_id]
    assert launcher.abandoned == [shoot_id] and launcher.started == [(shoot_id, 1)]


def test_shoot_heard_from_lately_is_left_alone(make_services) -> None:
    services = make_services(watchdog_silence_s=30, watchdog_grace_s=5)
    launcher = RecordingLauncher(running=True)
    services.use_launcher(launcher)
    a_shoot(services, quiet_s=10)
    assert check_shoots(services).counts() == {"checked": 1, "resumed": 0, "failed": 0}
    assert launcher.started == []


def test_shoot_without_a_live_run_is_resumed_after_the_grace(make_services) -> None:
    services = make_services(watchdog_silence_s=300, watchdog_grace_s=5)
    launcher = RecordingLauncher(running=False)
    services.use_launcher(launcher)
    shoot_id = a_shoot(services, quiet_s=10)
    assert check_shoots(services).resumed == [shoot_id]
    assert launcher.abandoned == []


def test_attempts_spent_fail_the_shoot_with_a_message_and_purge(make_services) -> None:
    services = make_services(watchdog_silence_s=30, watchdog_grace_s=5, watchdog_max_attempts=2)
    services.use_launcher(RecordingLauncher(running=False))
    shoot_id = a_shoot(services, quiet_s=60, attempt=1)
    assert check_shoots(services).failed == [shoot_id]
    with services.db.session() as session:
        shoot = session.get(Photoshoot, shoot_id)
        assert shoot is not None and shoot.status == "failed" and shoot.status_detail == GAVE_UP
        assert all(p.original_key is None for p in shoot.photos)
    # The operator's trace: the compliance report names the shoot, its message, nothing left.
    from headpix.compliance import build_report

    report = build_report(services, utcnow() + timedelta(seconds=1))
    assert report.failed_shoots == [
        {
            "shoot_id": shoot_id,
            "failed_at": report.failed_shoots[0]["failed_at"],
            "detail": GAVE_UP,
            "originals_left": 0,
        }
    ]
    assert any(row["section"] == "shoot failed" and row["id"] == shoot_id for row in report.table())
    assert "shoots failed in the last 30 days: 1 (0 with originals not yet purged)" in report.markdown()
