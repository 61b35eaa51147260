"""No email tells a customer to run a command: every mail links to a page instead.

This test sends one of each kind the web layer causes and reads every .eml the session's app
has handed over so far; the ``web`` fixture reads them all once more when the session ends.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from headpix import gallery_links, policy
from schemas.models import utcnow
from tests.web.conftest import COMMAND_TEXT, WebServer, command_text_in_mail
from tests.web.seed import delivered_shoot
from tests.web.test_privacy_centre import post_form, signed_in
from web import core


def confirm_from_mail(web: WebServer, client: TestClient, email: str) -> None:
    confirm = web.link_in_mail(email, "/privacy/confirm/").removeprefix(web.url)
    assert post_form(client, confirm, {}).status_code == 200


def test_the_command_pattern_finds_commands():
    assert COMMAND_TEXT.search("To confirm, run: headpix requests confirm ID --token T")
    assert COMMAND_TEXT.search("use --set name=Pat")
    assert not COMMAND_TEXT.search("Open https://headpix.example/privacy to confirm.\n— Headpix")


def test_no_mail_tells_the_customer_to_run_a_command(web: WebServer):
    email = "mail.words@example.com"
    customer_id, client = signed_in(web, email)
    core.mail_sign_in_link(web.services, customer_id=customer_id, first=True)
    core.mail_sign_in_link(web.services, customer_id=customer_id, first=False)
    shoot_id = delivered_shoot(web, customer_id)
    gallery_links.send_new_link(web.services, shoot_id)
    for fields in (
        {"type": "access"},
        {"type": "portability"},
        {"type": "restriction"},
        {"type": "rectification", "new_name": "Pat Words"},
    ):
        post_form(client, "/privacy/requests", {**fields, "email": email}, page="/privacy")
        confirm_from_mail(web, client, email)
    post_form(client, "/privacy/requests", {"type": "objection", "email": email}, page="/privacy")
    post_form(client, f"/shoots/{shoot_id}/delete", {}, page=f"/shoots/{shoot_id}/gallery")
    now = utcnow()
    policy.publish(web.services, "2031-01", effective_at=now + timedelta(days=30), text="Later.", now=now)
    policy.send_notices(web.services, "2031-01")
    post_form(client, "/privacy/requests", {"type": "erasure", "email": email}, page="/privacy")
    confirm_from_mail(web, client, email)
    subjects = {message["Subject"] for message in web.mails(email)}
    assert len(subjects) >= 10, subjects
    folder = web.services.settings.mail_folder
    assert command_text_in_mail(folder) == []
