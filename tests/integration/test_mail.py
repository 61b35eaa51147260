"""Providers only send; the outbox claims, sends once, retries what was refused, and flags the rest."""

from __future__ import annotations

import threading
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import select

from headpix import compliance, delivery, personal
from headpix.app.cli import main
from headpix.app.wiring import install_launcher
from headpix.links import hash_token
from headpix.mail import DeliveryUncertain, EmlFolderProvider, OutgoingMail, SendGridProvider
from headpix.outbox import MAX_ATTEMPTS, SENDING_TIMEOUT, dispatch, enqueue
from headpix.outbox_batches import dispatch_due, flag_stuck
from headpix.services import Services
from schemas.models import GalleryLink, OutboxMessage, Photoshoot, utcnow

MAIL = OutgoingMail("m-1", "studio@headpix.example", "ada@example.com", "Hi", "Body text")


def test_eml_folder_writes_one_file_per_outbox_row(tmp_path):
    provider = EmlFolderProvider(tmp_path)
    where = provider.send(MAIL)
    provider.send(MAIL)  # a resend after a crash overwrites, never duplicates
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-1.eml"]
    message = message_from_bytes(Path(where).read_bytes())
    assert message["To"] == "ada@example.com"
    assert "Body text" in message.get_payload()
    assert "Body text" not in repr(MAIL)


def test_sendgrid_client_posts_to_configured_host(sendgrid):
    provider = SendGridProvider("SG.test-key", sendgrid.url)
    message_id = provider.send(MAIL)
    assert message_id == "sg-1"
    [sent] = sendgrid.messages
    assert sent["personalizations"][0]["to"][0]["email"] == "ada@example.com"
    assert sent["custom_args"]["outbox_id"] == "m-1"


def add_customer(services: Services, email: str = "ada@example.com") -> str:
    with services.db.session() as session:
        customer = personal.new_customer(
            services.keys, name="Ada", email=email, preferences={}, gender="woman", policy_version="2026-11"
        )
        session.add(customer)
        return customer.id


def queue(services: Services, customer_id: str, dedup: str = "note:x") -> str:
    with services.db.session() as session:
        row = enqueue(
            session,
            services.keys,
            dedup_key=dedup,
            kind="note",
            customer_id=customer_id,
            to="ada@example.com",
            subject="Hello",
            body="Body text",
        )
        return row.id


def row(services: Services, message_id: str) -> OutboxMessage:
    with services.db.session() as session:
        found = session.get(OutboxMessage, message_id)
        assert found is not None
        return found


def test_outbox_queues_once_sealed_and_sends_once(make_services, sendgrid):
    services = make_services(mail_backend="sendgrid", sendgrid_api_key="SG.k", sendgrid_host=sendgrid.url)
    customer_id = add_customer(services)
    first, second = queue(services, customer_id), queue(services, customer_id)
    assert first == second
    stored = row(services, first)
    assert b"ada@example.com" not in (stored.recipient_sealed or b"")
    assert b"Body text" not in (stored.content_sealed or b"")
    assert [dispatch(services, first).status for _ in range(2)] == ["sent", "sent"]
    assert len(sendgrid.messages) == 1 and row(services, first).provider_message_id == "sg-1"


def test_refusal_before_acceptance_is_retried_with_backoff_then_flagged(make_services, sendgrid):
    services = make_services(mail_backend="sendgrid", sendgrid_api_key="SG.k", sendgrid_host=sendgrid.url)
    message_id = queue(services, add_customer(services))
    sendgrid.answer = 503
    now = utcnow()
    assert dispatch(services, message_id, now=now).status == "pending"
    refused = row(services, message_id)
    assert refused.attempts == 1 and refused.last_error == "SendGrid answered 503"
    assert refused.next_attempt_at is not None and refused.next_attempt_at >= now + timedelta(seconds=30)
    assert dispatch(services, message_id, now=now).status == "pending"  # not due yet: not even tried
    assert row(services, message_id).attempts == 1
    later = now
    for _ in range(MAX_ATTEMPTS - 1):
        later += timedelta(hours=2)
        outcome = dispatch(services, message_id, now=later)
    assert outcome.status == "needs_attention" and row(services, message_id).attempts == MAX_ATTEMPTS
    assert sendgrid.messages == []


def test_the_sweep_sends_refused_mail_once_its_backoff_has_passed(make_services, sendgrid):
    services = make_services(mail_backend="sendgrid", sendgrid_api_key="SG.k", sendgrid_host=sendgrid.url)
    message_id = queue(services, add_customer(services))
    sendgrid.answer = 429
    now = utcnow()
    assert dispatch(services, message_id, now=now).status == "pending"
    sendgrid.answer = 202
    assert dispatch_due(services, now) == 0  # backing off
    assert dispatch_due(services, now + timedelta(hours=1)) == 1
    assert row(services, message_id).status == "sent" and len(sendgrid.messages) == 1


class TimesOut:
    def send(self, mail: OutgoingMail) -> str:
        raise DeliveryUncertain("no answer in time")


def test_unknown_fate_and_crash_mid_send_go_to_operators_not_resent(make_services, capsys):
    services = make_services()
    customer_id = add_customer(services)
    timed_out = queue(services, customer_id, "note:timeout")
    services.__dict__["mail"] = TimesOut()  # the provider adapter, chosen here instead of by settings
    assert dispatch(services, timed_out).status == "needs_attention"
    del services.__dict__["mail"]

    crashed = queue(services, customer_id, "note:crash")
    with services.db.session() as session:  # a dispatcher claimed it, then its process died
        claimed = session.get(OutboxMessage, crashed)
        claimed.status, claimed.claimed_at = "sending", utcnow() - SENDING_TIMEOUT - timedelta(minutes=1)
    assert dispatch(services, crashed).status == "sending"  # never resent by itself
    report = compliance.build_report(services, utcnow())
    assert {m["message_id"] for m in report.mail_needs_attention} == {timed_out, crashed}
    assert flag_stuck(services, now=utcnow()) == 1 and row(services, crashed).status == "needs_attention"

    assert main(["mail", "resend", crashed, "--json"]) == 0
    assert '"status": "sent"' in capsys.readouterr().out
    assert len(list(services.settings.mail_folder.glob("*.eml"))) == 1
    assert main(["mail", "resend", crashed]) == 1  # sent: nothing to resend
    assert "only needs_attention messages are resent" in capsys.readouterr().err


@pytest.mark.postgres
def test_two_deliveries_of_one_shoot_at_once_send_one_mail(make_services, fresh_postgres_url, sendgrid):
    services = make_services(
        database_url=fresh_postgres_url,
        mail_backend="sendgrid",
        sendgrid_api_key="SG.k",
        sendgrid_host=sendgrid.url,
    )
    customer_id = add_customer(services)
    other = install_launcher(Services(services.settings))  # a second worker: its own engine
    rounds = 5  # each round is one race; without the claim some rounds send twice
    errors: list[BaseException] = []
    for _ in range(rounds):
        with services.db.session() as session:
            shoot = Photoshoot(customer_id=customer_id, status="generating", styles=["corporate"])
            session.add(shoot)
            session.flush()
            shoot_id = shoot.id
        start = threading.Barrier(2)

        def run(svc: Services, shoot_id: str = shoot_id, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                delivery.deliver(svc, shoot_id)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=run, args=(svc,)) for svc in (services, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with services.db.session() as session:
            assert session.get(Photoshoot, shoot_id).status == "delivered"
    other.db.dispose()
    assert len(sendgrid.messages) == rounds
    with services.db.session() as session:
        mails = session.scalars(select(OutboxMessage)).all()
        assert len(mails) == rounds and {m.status for m in mails} == {"sent"}
        assert len({m.provider_message_id for m in mails}) == rounds


def test_a_lost_gallery_link_is_reissued_by_mail_never_printed(make_services, capsys):
    services = make_services()
    customer_id = add_customer(services)
    with services.db.session() as session:
        shoot = Photoshoot(customer_id=customer_id, status="delivered", styles=["corporate"])
        session.add(shoot)
        session.flush()
        shoot_id = shoot.id
    for _ in range(2):
        assert main(["gallery", "link", shoot_id, "--new"]) == 0
    printed = capsys.readouterr().out
    assert "/g/" not in printed and "mailed to the customer" in printed
    mails = sorted(services.settings.mail_folder.glob("*.eml"))
    tokens = {p.read_text().split("/g/", 1)[1].split()[0] for p in mails}
    assert len(mails) == 2 and len(tokens) == 2
    with services.db.session() as session:
        hashes = set(session.scalars(select(GalleryLink.token_hash).where(GalleryLink.shoot_id == shoot_id)))
    assert hashes == {hash_token(t) for t in tokens}
