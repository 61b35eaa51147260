"""Bad input at the command line: a clear message naming the file and rule, no shoot left behind."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from flows.photoshoot import photoshoot
from headpix.app.cli import main
from headpix.samples import sample_photos
from headpix.shoots import receive_shoot, register_customer, shoot_report
from headpix.storage import Keys
from schemas.api import CustomerSignup, Gender
from schemas.models import OutboxMessage, Photoshoot

START = ["shoot", "start", "--email", "bad@example.com", "--name", "B", "--gender", "female"]


def write_samples(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in sample_photos(count):
        (folder / name).write_bytes(data)


def faceless_jpeg() -> bytes:
    ramp = np.tile(np.linspace(30, 220, 640, dtype=np.uint8), (480, 1))
    buffer = io.BytesIO()
    Image.fromarray(np.stack([ramp, ramp[::-1], ramp], axis=-1)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def services(make_services):
    return make_services()


def no_shoots(services) -> bool:
    with services.db.session() as session:
        return session.scalar(select(func.count()).select_from(Photoshoot)) == 0


def test_missing_folder_is_a_usage_error(services, tmp_path, capsys):
    code = main([*START, "--photos", str(tmp_path / "nowhere"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 2
    assert out["error"] == "photos_not_found" and "nowhere" in out["message"]
    assert no_shoots(services)


@pytest.mark.parametrize(
    ("extra_name", "extra", "count", "rule"),
    [
        (None, None, 2, "too_few_photos"),
        ("notes.jpg", b"this is a text file, not a photo\n", 6, "unsupported_format"),
        ("landscape.jpg", None, 6, "no_face"),
    ],
)
def test_refused_photos_are_named_with_their_rule(services, tmp_path, capsys, extra_name, extra, count, rule):
    folder = tmp_path / "photos"
    write_samples(folder, count)
    if extra_name:
        (folder / extra_name).write_bytes(extra if extra is not None else faceless_jpeg())
    code = main([*START, "--photos", str(folder)])
    err = capsys.readouterr().err
    assert code == 1
    assert rule in err
    if extra_name:
        assert extra_name in err
    assert no_shoots(services)


def test_unknown_shoot_and_bad_preferences(services, tmp_path, capsys):
    assert main(["shoot", "status", "0000", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"] == "not_found"
    write_samples(tmp_path / "p", 4)
    code = main([*START, "--photos", str(tmp_path / "p"), "--preferences", '{"hat": 1}'])
    assert code == 2 and "known keys" in capsys.readouterr().err


def test_usage_errors_exit_2(services, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["shoot", "start", "--name", "x"])
    assert exit_.value.code == 2


@pytest.mark.usefixtures("ray_local")
def test_shoot_that_fails_validation_in_the_flow_fails_for_good(services, tmp_path):
    good = sample_photos(2)
    bad = [("notes.jpg", b"not a photo"), ("blank.jpg", faceless_jpeg())]
    with services.db.session() as session:
        customer = register_customer(
            session,
            services.keys,
            CustomerSignup(name="B", email="b2@example.com", gender=Gender.man),
            channel="cli",
        )
        session.expunge(customer)
    shoot_id = receive_shoot(services, customer, good + bad)
    state = photoshoot(shoot_id, return_state=True)
    assert state.is_failed()
    report = shoot_report(services, shoot_id)
    assert report.status.value == "failed"
    assert "too_few_photos" in report.detail
    assert {p["file"] for p in report.rejected_photos} == {"notes.jpg", "blank.jpg"}
    assert services.store.version_count(Keys.shoot(customer.id, shoot_id)) == 0
    with services.db.session() as session:
        mail = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "shoot_failed"))
        assert mail is not None and mail.status == "sent"
    [sent] = [p for p in services.settings.mail_folder.glob("*.eml") if mail.id in p.name]
    assert "too_few_photos" in sent.read_text()
