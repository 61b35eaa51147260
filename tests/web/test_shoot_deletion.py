"""The owner deletes one shoot from its gallery: the mail, the confirm page and the result name that
shoot, only it goes, and the customer stays signed in."""

from __future__ import annotations

from tests.web.conftest import WebServer
from tests.web.seed import delivered_shoot
from tests.web.test_privacy_centre import post_form, signed_in


def test_the_owner_deletes_one_shoot_and_stays_signed_in(web: WebServer):
    email = "deletes.one.shoot@example.com"
    customer_id, client = signed_in(web, email)
    gone, kept = delivered_shoot(web, customer_id), delivered_shoot(web, customer_id)
    gallery = f"/shoots/{gone}/gallery"
    asked = post_form(client, f"/shoots/{gone}/delete", {}, page=gallery)
    assert asked.status_code == 200 and f"reference {gone[:8]}" in asked.text

    confirm = web.link_in_mail(email, "/privacy/confirm/").removeprefix(web.url)
    mail = web.mails(email)[-1]
    payload = mail.get_payload(decode=True)
    body = payload.decode() if isinstance(payload, bytes) else str(payload)
    assert "delete your photoshoot of" in body and f"reference {gone[:8]}" in body
    assert "The rest of your account stays" in body and "the data we hold about you" not in body
    assert mail["Subject"].startswith("Confirm deleting your photoshoot")
    assert email not in mail["Subject"] and "Pat" not in mail["Subject"]

    page = client.get(confirm)
    assert page.status_code == 200 and f"reference {gone[:8]}" in page.text
    assert "deletes your account" not in page.text and "everything else stay" in page.text

    done = post_form(client, confirm, {})
    assert done.status_code == 200, done.text
    assert "Goodbye" not in done.text and "has been deleted" not in done.text
    assert "deleted your photoshoot of" in done.text and "Your account and everything else stay" in done.text
    assert "hpx_session" not in done.headers.get("set-cookie", ""), "the session cookie was cleared"
    assert client.get("/account").status_code == 200, "the customer was signed out"
    assert client.get(f"/shoots/{gone}").status_code == 404
    assert client.get(f"/shoots/{kept}/gallery").status_code == 200
