"""Sign-up from the page: login CSRF refused, consent recorded, a known address mailed a link."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy import select

from schemas.api import POLICY_VERSION
from schemas.privacy import Consent, UsageEvent
from tests.web.conftest import WebServer
from web import core
from web.deps import COOKIE, anonymous_binding
from web.security import csrf_token

FORM = {"content-type": "application/x-www-form-urlencoded"}


def csrf_of(client: TestClient, path: str = "/") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def signup_body(email: str, csrf: str) -> bytes:
    fields = {"name": "Robin", "email": email, "gender": "woman", "consent": "yes", "csrf": csrf}
    return urlencode(fields).encode()


def test_a_cross_site_or_null_origin_sign_up_is_refused(web: WebServer):
    """Login CSRF: a page elsewhere must not sign a visitor up into an account it controls."""
    attacker = TestClient(web.app, base_url=web.url, client=("198.51.100.7", 40000))
    victim = TestClient(web.app, base_url=web.url, client=("203.0.113.9", 40000))
    harvested = csrf_of(attacker)
    own = csrf_of(victim)
    email = "login.csrf@example.com"
    host = web.url.split("//", 1)[1]
    refused = [
        ({**FORM, "origin": "null"}, own),  # a sandboxed frame elsewhere: no Sec-Fetch-Site to trust
        ({**FORM, "origin": "null", "sec-fetch-site": "cross-site"}, own),
        ({**FORM, "sec-fetch-site": "cross-site"}, own),
        ({**FORM, "sec-fetch-site": "same-site"}, own),
        ({**FORM, "origin": "http://evil.example"}, own),
        ({**FORM, "origin": web.url}, harvested),  # another client's token
    ]
    for headers, token in refused:
        response = victim.post("/signup", content=signup_body(email, token), headers=headers)
        assert response.status_code == 403, (headers, response.status_code)
        assert COOKIE not in response.headers.get("set-cookie", "")
    assert core.customer_id_by_email(web.services, email) is None
    stale = csrf_token(
        web.app.state.ctx.secret,
        anonymous_binding(web.app.state.ctx.secret, "203.0.113.9"),
        now=time.time() - 3 * 3600,
    )
    old = victim.post("/signup", content=signup_body(email, stale), headers=FORM)
    assert old.status_code == 403, "a signed-out form's token holds for two hours at most"
    # Our own page, as a browser sends it under Referrer-Policy: no-referrer.
    same = {**FORM, "origin": "null", "sec-fetch-site": "same-origin", "host": host}
    ok = victim.post("/signup", content=signup_body(email, own), headers=same, follow_redirects=False)
    assert ok.status_code == 303 and COOKIE in ok.headers["set-cookie"]


def test_web_sign_up_records_consent_on_channel_web_and_counts_it(web: WebServer):
    client = TestClient(web.app, base_url=web.url, client=("192.0.2.60", 40000))
    before = signups_counted(web)
    email = "consents.on.web@example.com"
    response = client.post("/signup", content=signup_body(email, csrf_of(client)), headers=FORM)
    assert response.status_code == 200 and "Your photos" in response.text
    customer_id = core.customer_id_by_email(web.services, email)
    assert customer_id
    with web.services.db.session() as session:
        consents = list(session.scalars(select(Consent).where(Consent.customer_id == customer_id)))
        assert [(c.channel, c.policy_version, c.action) for c in consents] == [
            ("web", POLICY_VERSION, "accepted")
        ]
    assert signups_counted(web) == before + 1


def signups_counted(web: WebServer) -> int:
    with web.services.db.session() as session:
        return sum(session.scalars(select(UsageEvent.count).where(UsageEvent.event == "signup")))


def test_a_known_address_at_sign_up_gets_a_sign_in_link(web: WebServer):
    email = "already.here@example.com"
    first = TestClient(web.app, base_url=web.url, client=("192.0.2.61", 40000))
    first.post("/signup", content=signup_body(email, csrf_of(first)), headers=FORM)
    mails = len(web.mails(email))
    again = TestClient(web.app, base_url=web.url, client=("192.0.2.62", 40000))
    response = again.post(
        "/signup", content=signup_body(email, csrf_of(again)), headers=FORM, follow_redirects=False
    )
    assert response.status_code == 200 and "Check your email" in response.text
    assert "sign-in link" in response.text and COOKIE not in response.headers.get("set-cookie", "")
    assert web.link_in_mail(email, "/signin/")
    assert len(web.mails(email)) == mails + 1
    assert web.mails(email)[-1]["Subject"] == "Your Headpix sign-in link"
