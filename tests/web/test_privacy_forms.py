"""The privacy centre's forms create their requests, and refusals are in the web's words."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from schemas.privacy import PrivacyRequest, Suppression
from tests.web.conftest import WebServer
from tests.web.test_api_fuzz import LEAKS
from tests.web.test_privacy_centre import post_form, signed_in
from web import core


def requests_of(web: WebServer, customer_id: str) -> list[PrivacyRequest]:
    with web.services.db.session() as session:
        rows = list(session.scalars(select(PrivacyRequest).where(PrivacyRequest.customer_id == customer_id)))
        session.expunge_all()
        return rows


def no_cli_words(text: str) -> None:
    leaked = [marker for marker in LEAKS if marker in text]
    assert not leaked, f"leaked {leaked}: {text[:300]}"


def test_a_rectification_without_changes_is_refused_in_web_words(web: WebServer):
    email = "rectify.nothing@example.com"
    customer_id, client = signed_in(web, email)
    page = post_form(client, "/privacy/requests", {"type": "rectification", "email": email}, page="/privacy")
    assert page.status_code == 400 and "corrected name or email" in page.text
    no_cli_words(page.text)
    api = TestClient(web.app, base_url=web.url)
    for body in (
        {"type": "rectification", "email": email},
        {"type": "rectification", "email": email, "new_email": "not-an-address"},
        {"type": "rectification", "email": email, "name": " "},
    ):
        answer = api.post("/api/privacy/requests", json=body)
        assert answer.status_code == 400, answer.text
        no_cli_words(answer.json()["message"])
    bad = post_form(
        client,
        "/privacy/requests",
        {"type": "rectification", "email": email, "new_email": "nope"},
        page="/privacy",
    )
    assert bad.status_code == 400 and "doesn&#39;t look like an email address" in bad.text
    assert requests_of(web, customer_id) == []


def test_the_rectification_form_corrects_the_name_once_confirmed(web: WebServer):
    email = "rectify.name@example.com"
    customer_id, client = signed_in(web, email)
    fields = {"type": "rectification", "email": email, "new_name": "Patricia"}
    response = post_form(client, "/privacy/requests", fields, page="/privacy")
    assert response.status_code == 200 and "confirm the request" in response.text
    [request] = requests_of(web, customer_id)
    assert request.type == "rectification" and request.status == "awaiting_confirmation"
    confirm = web.link_in_mail(email, "/privacy/confirm/").removeprefix(web.url)
    assert post_form(client, confirm, {}).status_code == 200
    assert core.customer_summary(web.services, customer_id)["name"] == "Patricia"


def test_the_portability_form_creates_its_request(web: WebServer):
    email = "take.it.elsewhere@example.com"
    customer_id, client = signed_in(web, email)
    fields = {"type": "portability", "email": email}
    response = post_form(client, "/privacy/requests", fields, page="/privacy")
    assert response.status_code == 200 and "confirm the request" in response.text
    [request] = requests_of(web, customer_id)
    assert request.type == "portability" and request.status == "awaiting_confirmation"
    assert web.link_in_mail(email, "/privacy/confirm/")


def test_the_objection_form_takes_effect_at_once(web: WebServer):
    email = "object.marketing@example.com"
    customer_id, client = signed_in(web, email)
    response = post_form(client, "/privacy/requests", {"type": "objection", "email": email}, page="/privacy")
    assert response.status_code == 200 and "no more marketing" in response.text
    [request] = requests_of(web, customer_id)
    assert request.type == "objection" and request.status == "completed"
    with web.services.db.session() as session:
        assert session.scalar(select(Suppression).where(Suppression.customer_id == customer_id)) is not None
