"""The privacy centre from mail to page: confirmation links, export downloads, one-click
unsubscribe, and the policy-change notice (accept or withdraw)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from headpix import policy, sessions
from schemas.api import CustomerSignup, Gender
from schemas.models import utcnow
from schemas.privacy import Consent, PrivacyRequest, Suppression
from tests.web.conftest import WebServer
from web import core

FORM = {"content-type": "application/x-www-form-urlencoded"}


def signed_in(web: WebServer, email: str) -> tuple[str, TestClient]:
    customer_id = core.sign_up(web.services, CustomerSignup(name="Pat", email=email, gender=Gender.woman))
    client = TestClient(web.app, base_url=web.url)
    client.cookies.set("hpx_session", sessions.create_session(web.services, customer_id=customer_id))
    return customer_id, client


def csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def post_form(client: TestClient, path: str, fields: dict[str, str], page: str | None = None) -> Any:
    body = "&".join(f"{k}={v}" for k, v in {**fields, "csrf": csrf(client, page or path)}.items())
    return client.post(path, content=body.encode(), headers=FORM, follow_redirects=False)


def test_access_request_confirmed_from_mail_and_downloaded_from_its_link(web: WebServer):
    email = "access.me@example.com"
    _, client = signed_in(web, email)
    response = post_form(client, "/privacy/requests", {"type": "access", "email": email}, page="/privacy")
    assert response.status_code == 200 and "confirm the request" in response.text
    confirm = web.link_in_mail(email, "/privacy/confirm/").removeprefix(web.url)
    assert client.get(confirm).status_code == 200
    done = post_form(client, confirm, {})
    assert done.status_code == 200 and "Done." in done.text
    download = client.get(web.link_in_mail(email, "/exports/").removeprefix(web.url))
    assert download.status_code == 200 and download.headers["cache-control"] == "private, no-store"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert "headpix-export.json" in archive.namelist()
    assert client.get(confirm).status_code == 404  # used once
    assert client.get("/exports/" + "0" * 43).status_code == 404


def test_one_click_unsubscribe_is_the_objection(web: WebServer):
    customer_id, _ = signed_in(web, "no.marketing@example.com")
    headers = core.unsubscribe_headers(web.services, customer_id)
    url = headers["List-Unsubscribe"].strip("<>")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    client = TestClient(web.app, base_url=web.url)  # a mail client: no session, no CSRF token
    response = client.post(url.removeprefix(web.url), content=b"List-Unsubscribe=One-Click", headers=FORM)
    assert response.status_code == 200
    with web.services.db.session() as session:
        assert session.scalar(select(Suppression).where(Suppression.customer_id == customer_id)) is not None
    assert client.post(url.removeprefix(web.url)[:-3] + "abc").status_code == 404


def test_policy_notice_accept_or_withdraw(web: WebServer):
    now = utcnow()
    policy.publish(web.services, "2027-01", effective_at=now + timedelta(days=20), text="New terms.", now=now)
    accepter, client = signed_in(web, "accepts.policy@example.com")
    assert "New terms." in client.get("/policy/2027-01").text
    assert post_form(client, "/policy/2027-01/accept", {}, page="/policy/2027-01").status_code == 200
    with web.services.db.session() as session:
        consent = session.scalar(
            select(Consent).where(Consent.customer_id == accepter, Consent.policy_version == "2027-01")
        )
        assert consent is not None and consent.channel == "web" and consent.action == "accepted"
    leaver, other = signed_in(web, "leaves.policy@example.com")
    assert post_form(other, "/policy/2027-01/withdraw", {}, page="/policy/2027-01").status_code == 200
    with web.services.db.session() as session:
        request = session.scalar(select(PrivacyRequest).where(PrivacyRequest.customer_id == leaver))
        assert request is not None and request.type == "erasure" and request.status == "awaiting_confirmation"
    assert client.get("/policy/no-such-version").status_code == 404


def test_restriction_confirmed_then_lifted_from_its_page(web: WebServer):
    email = "pause.me@example.com"
    customer_id, client = signed_in(web, email)
    post_form(client, "/privacy/requests", {"type": "restriction", "email": email}, page="/privacy")
    confirm = web.link_in_mail(email, "/privacy/confirm/").removeprefix(web.url)
    assert post_form(client, confirm, {}).status_code == 200
    with web.services.db.session() as session:
        request = session.scalar(select(PrivacyRequest).where(PrivacyRequest.customer_id == customer_id))
        assert request is not None
        request_id = request.id
    page = f"/requests/{request_id}"
    html = client.get(page).text
    assert "Lift the restriction" in html
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title and title.group(1) == "Your request · Headpix", "the <title> holds markup"
    assert html.count('name="csrf"') == 2  # the lift form and sign-out, once each
    assert post_form(client, f"{page}/lift", {}, page=page).status_code == 200
    assert post_form(client, f"{page}/lift", {}, page=page).status_code == 409
