"""Restriction during a shoot: it pauses before the next stage with its files kept; lifting resumes it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flows.photoshoot import photoshoot
from headpix import stages
from headpix.app import runner
from headpix.errors import CommandError
from headpix.intake import PhotoInput
from headpix.privacy import requests
from headpix.privacy.requests import RequestType
from headpix.privacy.restriction import lift
from headpix.samples import sample_photos
from headpix.shoots import load_shoot, receive_shoot, register_customer, shoot_report
from schemas.api import CustomerSignup, Gender
from schemas.models import OriginalPhoto, OutboxMessage, utcnow
from tests.integration.test_privacy_requests import mails_to, token_from_mail

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("ray_local")]

ADA = "ada.restricted@example.com"


def test_restriction_pauses_a_running_shoot_and_lifting_delivers_it(make_services):
    services = make_services()
    photos = sample_photos(6)
    signup = CustomerSignup(name="Ada", email=ADA, gender=Gender.woman)
    with services.db.session() as session:
        customer = register_customer(session, services.keys, signup, channel="cli")
        session.expunge(customer)
    shoot_id = receive_shoot(services, customer, photos)
    stages.validate(services, shoot_id)  # the first stage ran; the restriction arrives now

    placed = requests.submit(services, RequestType.restriction, ADA)
    requests.confirm(services, placed.request_id, token_from_mail(services, placed.request_id))
    assert requests.status(services, placed.request_id).status == "in_progress"

    photoshoot(shoot_id)  # the flow goes on and stops at the next stage boundary
    with services.db.session() as session:
        shoot = load_shoot(session, shoot_id)
        assert (shoot.status, shoot.paused_from) == ("paused", "validating")
        kept = session.scalars(select(OriginalPhoto).where(OriginalPhoto.shoot_id == shoot_id)).all()
        originals = [p.original_key for p in kept]
        crops = [p.crop_key for p in kept if p.verdict == "accepted"]
        assert all(originals) and len(crops) >= 4 and all(crops)
        assert not shoot.headshots
        assert session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "delivery")) is None
    assert all(services.raw_store.exists(key) for key in originals + crops), "a paused shoot keeps its files"

    with pytest.raises(CommandError) as refused:
        runner.resume(services, shoot_id)
    assert refused.value.code == "paused"
    with pytest.raises(CommandError) as refused:
        runner.start_shoot(services, signup, [PhotoInput(file=n, data=d, size=len(d)) for n, d in photos])
    assert refused.value.code == "restricted"

    lift(services, placed.request_id, utcnow())
    report = shoot_report(services, shoot_id)
    assert report.status.value == "delivered", report.detail
    assert report.per_style == {"corporate": 4, "studio": 4}
    assert not any(services.raw_store.exists(key) for key in originals + crops)
    subjects = {m["Subject"] for m in mails_to(services, ADA)}
    assert {"Processing of your data is no longer restricted", "Your Headpix photoshoot is ready"} <= subjects
    assert requests.status(services, placed.request_id).status == "completed"
