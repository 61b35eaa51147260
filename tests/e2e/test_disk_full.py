"""A full state folder (a small tmpfs mounted over it) on the embedded default.

Everything the embedded default keeps lives there: SQLite, the object folder, the mail folder.
The file store keeps a free-space reserve, so when objects fill the disk the database can still
record the ending and queue the customer's mail. Two named stages:

- intake: the disk is full before the upload; the start is refused with a message, and no row,
  original or half-written file is left;
- train: the disk fills while the identity model trains; the shoot fails with a customer message
  and one failure email, its originals purged, no half-written file.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from headpix.app import runner
from headpix.intake import PhotoInput
from headpix.samples import sample_photos
from headpix.storage import StorageError
from schemas.api import CustomerSignup, Gender
from schemas.models import OriginalPhoto, OutboxMessage, Photoshoot
from tests.conftest import require
from tests.small_disk import fill, mount_tmpfs, unmount

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("ray_local")]

SIZE_MB = 48
RESERVE_MB = 8


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "state"
    mount.mkdir()
    failed = mount_tmpfs(mount, SIZE_MB)
    require(failed is None, f"cannot mount a tmpfs here ({failed})")
    try:
        yield mount
    finally:
        unmount(mount)


def signup(tag: str) -> CustomerSignup:
    return CustomerSignup(name="Disk Full", email=f"disk.{tag}@example.com", gender=Gender.woman)


def half_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".part-" in p.name]


def test_a_full_disk_at_intake_refuses_the_start_and_leaves_nothing(make_services, small_disk):
    services = make_services(home=small_disk, storage_reserve_mb=RESERVE_MB)
    services.migrate()
    photos = [PhotoInput(file=n, data=d, size=len(d)) for n, d in sample_photos(6)]
    fill(small_disk, leave_mb=RESERVE_MB + 0.25)  # room for two photos, not six
    with pytest.raises(StorageError, match="storage is full"):
        runner.start_shoot(services, signup("intake"), photos)
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Photoshoot)) == 0
        assert session.scalar(select(func.count()).select_from(OriginalPhoto)) == 0
    objects = small_disk / "objects"
    stored = [p for p in objects.rglob("*") if p.is_file()] if objects.exists() else []
    assert stored == [], f"originals of a refused upload left behind: {stored}"
    assert half_files(small_disk) == []


def test_the_disk_filling_during_training_fails_the_shoot_with_a_message_and_purges(
    make_services, small_disk
):
    services = make_services(home=small_disk, storage_reserve_mb=RESERVE_MB)
    services.migrate()
    photos = [PhotoInput(file=n, data=d, size=len(d)) for n, d in sample_photos(6)]
    filled: dict[str, str] = {}

    def fill_when_training() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not filled:
            with services.db.session() as session:
                statuses = list(session.scalars(select(Photoshoot.status)))
            if statuses and statuses[0] in ("training", "generating", "delivering", "failed", "delivered"):
                fill(small_disk, leave_mb=RESERVE_MB / 2)
                filled["at"] = statuses[0]
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=fill_when_training, daemon=True)
    watcher.start()
    shoot_id = runner.start_shoot(services, signup("train"), photos)
    watcher.join(timeout=310)
    assert filled.get("at") == "training", f"the disk filled at {filled.get('at')}, not during training"
    with services.db.session() as session:
        shoot = session.get(Photoshoot, shoot_id)
        assert shoot is not None
        status, detail = shoot.status, shoot.status_detail
        left = [p for p in shoot.photos if p.original_key or p.crop_key]
        mails = {m.kind: m.status for m in session.scalars(select(OutboxMessage))}
    assert status == "failed", (status, detail)
    assert detail and "Traceback" not in detail
    assert left == [], "photo rows still name stored bytes"
    assert mails == {"shoot_failed": "sent"}, mails
    originals = small_disk / "objects"
    remaining = [p.name for p in originals.rglob("*") if p.is_file() and "/originals/" in str(p)]
    assert remaining == [], f"original bytes left: {remaining}"
    assert half_files(small_disk) == []
    [eml] = list(services.settings.mail_folder.glob("*.eml"))
    assert "could not complete" in eml.read_text()
    os.sync()
