"""Cookies, headers, CSRF, rate limits, sign-in links and sessions, and pages that reach nowhere else."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from headpix import sessions
from schemas.api import CustomerSignup, Gender
from schemas.models import OutboxMessage, utcnow
from schemas.privacy import SignInToken
from tests.web.conftest import WebServer, web_services
from web import core
from web.app import create_app

PAGES = ["/", "/signin", "/privacy", "/policy", "/static/app.css", "/api/openapi.json", "/nowhere"]


def new_customer(web: WebServer, email: str) -> str:
    return core.sign_up(web.services, CustomerSignup(name="Sec", email=email, gender=Gender.nonbinary))


def csrf_of(client: TestClient, path: str = "/signin") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def test_security_headers_on_pages_api_assets_and_errors(web: WebServer):
    client = TestClient(web.app, base_url=web.url)
    for path in PAGES:
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert headers["referrer-policy"] == "no-referrer" and headers["x-content-type-options"] == "nosniff"
        assert "set-cookie" not in headers, f"{path} set a cookie for a visitor who is not signed in"
    error = client.get("/api/shoots/nope")
    assert error.status_code == 401 and set(error.json()) == {"error", "message"}
    page = client.get("/shoots/nope")
    assert page.status_code == 401 and "text/html" in page.headers["content-type"]


def test_every_page_uses_only_its_own_assets_and_one_cookie(page: Any, web: WebServer):
    """The page fixture fails the test on any request that is not to 127.0.0.1."""
    customer_id = new_customer(web, "pages.cookie@example.com")
    page.goto(web.url + "/")
    assert page.context.cookies() == []
    token = sessions.create_sign_in_link(web.services, customer_id=customer_id)
    page.goto(f"{web.url}/signin/{token}")
    page.click("#signin-button")
    for path in ["/", "/account", "/upload", "/privacy", "/policy", "/signin", "/nowhere"]:
        page.goto(web.url + path)
        scripts = page.eval_on_selector_all(
            "script[src], link[href], img[src]", "els => els.map(e => e.src || e.href)"
        )
        assert all(url.startswith(web.url) for url in scripts), scripts
    cookies = page.context.cookies()
    assert len(cookies) == 1 and cookies[0]["name"] == "hpx_session"
    assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Lax"


def test_forms_without_a_valid_csrf_token_are_refused(web: WebServer):
    client = TestClient(web.app, base_url=web.url)
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert client.post("/signin", content=b"email=a%40example.com", headers=form).status_code == 403
    assert (
        client.post("/signin", content=b"email=a%40example.com&csrf=1.abc", headers=form).status_code == 403
    )
    token = csrf_of(client)
    other_site = {**form, "origin": "http://evil.example"}
    body = f"email=a%40example.com&csrf={token}".encode()
    assert client.post("/signin", content=body, headers=other_site).status_code == 403
    assert client.post("/signin", content=body, headers=form).status_code == 200


def test_unknown_address_gets_the_same_page_and_no_mail(web: WebServer):
    client = TestClient(web.app, base_url=web.url)
    new_customer(web, "known.signin@example.com")
    answers = []
    with web.services.db.session() as session:
        before = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    for email in ("known.signin@example.com", "nobody.here@example.com"):
        body = f"email={email}&csrf={csrf_of(client)}".encode()
        response = client.post(
            "/signin", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
        )
        answers.append(re.sub(r'value="[^"]+"', "", response.text))
    assert answers[0] == answers[1]
    with web.services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == before + 1


def test_sign_in_is_rate_limited_per_client_and_per_address(web: WebServer):
    limit = web.services.settings.rate_limit_per_minute
    flooder = TestClient(web.app, base_url=web.url, client=("192.0.2.10", 50000))
    codes = [
        flooder.post("/api/signin", json={"email": "flood@example.com"}).status_code for _ in range(limit + 1)
    ]
    assert codes[:limit] == [200] * limit and codes[-1] == 429
    refused = flooder.post("/api/signin", json={"email": "other.address@example.com"})
    assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"  # per client
    elsewhere = TestClient(web.app, base_url=web.url, client=("192.0.2.11", 50000))
    assert (
        elsewhere.post("/api/signin", json={"email": "flood@example.com"}).status_code == 429
    )  # per address
    assert elsewhere.post("/api/signin", json={"email": "calm@example.com"}).status_code == 200


def test_sign_in_links_are_single_use_and_expire(web: WebServer):
    services = web.services
    customer_id = new_customer(web, "link.once@example.com")
    token = sessions.create_sign_in_link(services, customer_id=customer_id)
    with services.db.session() as session:
        stored = session.scalars(select(SignInToken.token_hash)).all()
    assert token not in stored and sessions.token_hash("link", token) in stored
    assert sessions.use_sign_in_link(services, token) == customer_id
    assert sessions.use_sign_in_link(services, token) is None
    late = sessions.create_sign_in_link(
        services, customer_id=customer_id, now=utcnow() - timedelta(minutes=16)
    )
    assert sessions.use_sign_in_link(services, late) is None


def test_sessions_expire_when_idle_and_absolutely_and_end_at_sign_out(web: WebServer):
    services = web.services
    settings = services.settings
    customer_id = new_customer(web, "session.life@example.com")
    start = utcnow()
    token = sessions.create_session(services, customer_id=customer_id, now=start)
    idle = timedelta(minutes=settings.session_idle_minutes)
    assert sessions.session_customer(services, token, now=start + idle - timedelta(minutes=1)) == customer_id
    assert sessions.session_customer(services, token, now=start + 2 * idle) is None
    token = sessions.create_session(services, customer_id=customer_id, now=start)
    moment = start
    while moment < start + timedelta(hours=settings.session_absolute_hours) - idle / 2:
        moment += idle / 2
        assert sessions.session_customer(services, token, now=moment) == customer_id
    assert sessions.session_customer(services, token, now=moment + idle) is None
    token = sessions.create_session(services, customer_id=customer_id)
    client = TestClient(web.app, base_url=web.url)
    client.cookies.set("hpx_session", token)
    assert client.get("/api/session").status_code == 200
    assert client.post("/api/signout").status_code == 200
    assert sessions.session_customer(services, token) is None


def test_the_session_cookie_is_secure_off_loopback(session_dir: Path, tmp_path: Path):
    url = "https://headpix.example"
    services = web_services(tmp_path / "public", session_dir, url, session_secret="s3cret-" + "x" * 40)
    client = TestClient(create_app(services), base_url=url)
    body = {"name": "Sue", "email": "secure.cookie@example.com", "gender": "woman", "consent": True}
    cookie = client.post("/api/signup", json=body).headers["set-cookie"]
    assert cookie.startswith("hpx_session=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags, flags
    services.db.dispose()
