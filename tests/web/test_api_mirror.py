"""The JSON API mirrors the pages: the shoot list, gallery listings and the policy notice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from headpix import policy
from schemas.models import utcnow
from schemas.privacy import Consent, PrivacyRequest
from tests.web.conftest import WebServer
from tests.web.seed import delivered_shoot
from tests.web.test_gallery import gallery_link, shoot_with_headshots
from tests.web.test_privacy_centre import signed_in


def test_the_shoot_list_and_gallery_listing_are_the_owners_only(web: WebServer):
    owner_id, owner = signed_in(web, "api.list.owner@example.com")
    _, other = signed_in(web, "api.list.other@example.com")
    shoot_id = delivered_shoot(web, owner_id)
    listed = owner.get("/api/shoots").json()["shoots"]
    assert [s["shoot_id"] for s in listed] == [shoot_id] and listed[0]["status"] == "delivered"
    assert other.get("/api/shoots").json() == {"shoots": []}
    gallery = owner.get(f"/api/shoots/{shoot_id}/headshots")
    assert gallery.status_code == 200 and gallery.headers["cache-control"] == "private, no-store"
    (shot,) = gallery.json()["headshots"]
    assert owner.get(shot["url"]).headers["content-type"] == "image/png"
    assert owner.get(shot["thumbnail_url"]).status_code == 200
    assert owner.get(gallery.json()["zip_url"]).status_code == 200
    assert other.get(f"/api/shoots/{shoot_id}/headshots").status_code == 404
    assert other.get(shot["url"]).status_code == 404


def test_the_gallery_listing_by_token(web: WebServer):
    shoot_id, ids = shoot_with_headshots(web, "api.token.gallery@example.com", 2)
    token = gallery_link(web, shoot_id, expires_in=timedelta(days=1))
    expired = gallery_link(web, shoot_id, expires_in=-timedelta(minutes=1))
    _, anyone = signed_in(web, "api.token.anyone@example.com")
    listing = anyone.get(f"/api/g/{token}").json()
    assert [h["headshot_id"] for h in listing["headshots"]] == ids
    assert shoot_id not in str(listing), "the token gallery does not name the shoot"
    assert anyone.get(listing["headshots"][1]["url"]).status_code == 200
    for gone in (expired, "x" * 43):
        answer = anyone.get(f"/api/g/{gone}")
        assert answer.status_code == 404 and answer.json()["error"] == "not_found"


def test_policy_accept_and_withdraw_through_the_api(web: WebServer):
    now = utcnow()
    policy.publish(web.services, "2029-06", effective_at=now + timedelta(days=20), text="API terms.", now=now)
    accepter, client = signed_in(web, "api.accepts@example.com")
    assert client.post("/api/policy/2029-06/accept").status_code == 200
    with web.services.db.session() as session:
        consent = session.scalar(
            select(Consent).where(Consent.customer_id == accepter, Consent.policy_version == "2029-06")
        )
        assert consent is not None and consent.channel == "web"
    leaver, other = signed_in(web, "api.leaves@example.com")
    answer = other.post("/api/policy/2029-06/withdraw")
    assert answer.status_code == 200 and answer.json()["status"] == "awaiting_confirmation"
    with web.services.db.session() as session:
        request = session.get(PrivacyRequest, answer.json()["request_id"])
        assert request is not None and request.customer_id == leaver and request.type == "erasure"
    assert client.post("/api/policy/no-such-version/accept").status_code == 404
