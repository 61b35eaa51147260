from email import message_from_bytes
from pathlib import Path

from sqlalchemy import select

from headpix.mail import EmlFolderProvider, OutgoingMail, SendGridProvider, dispatch_one, enqueue
from schemas.models import OutboxMessage

MAIL = OutgoingMail("m-1", "studio@headpix.example", "ada@example.com", "Hi", "Body text")


def test_eml_folder_writes_one_file_per_outbox_row(tmp_path):
    provider = EmlFolderProvider(tmp_path)
    where = provider.send(MAIL)
    provider.send(MAIL)  # a resend after a crash overwrites, never duplicates
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-1.eml"]
    message = message_from_bytes(Path(where).read_bytes())
    assert message["To"] == "ada@example.com"
    assert "Body text" in message.get_payload()


def test_sendgrid_client_posts_to_configured_host(sendgrid):
    provider = SendGridProvider("SG.test-key", sendgrid.url)
    message_id = provider.send(MAIL)
    assert message_id == "sg-1"
    [sent] = sendgrid.messages
    assert sent["personalizations"][0]["to"][0]["email"] == "ada@example.com"
    assert sent["custom_args"]["outbox_id"] == "m-1"


def test_outbox_queues_once_and_sends_once(make_services, sendgrid):
    services = make_services(mail_backend="sendgrid", sendgrid_api_key="SG.k", sendgrid_host=sendgrid.url)
    for _ in range(2):
        with services.db.session() as session:
            enqueue(
                session,
                dedup_key="delivery:x",
                kind="delivery",
                customer_id=None,
                to="ada@example.com",
                subject="s",
                body="b",
            )
    for _ in range(2):
        with services.db.session() as session:
            row = session.scalar(select(OutboxMessage))
            dispatch_one(session, row, services)
    with services.db.session() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert len(rows) == 1 and rows[0].status == "sent"
    assert len(sendgrid.messages) == 1
