"""An erasure that could not finish must not start; the embedded default needs no key set up."""

import pytest
from sqlalchemy import func, select

from headpix.privacy import requests
from headpix.privacy.erasure import run_erasure
from headpix.privacy.receipts import ReceiptKeyMissing
from headpix.privacy.requests import RequestType
from headpix.shoots import register_customer
from schemas.api import CustomerSignup, Gender
from schemas.models import Customer
from schemas.privacy import PrivacyRequest


def test_erasure_with_a_configured_key_missing_deletes_nothing(make_services, tmp_path):
    services = make_services(receipt_signing_key_file=str(tmp_path / "gone.pem"))
    with services.db.session() as session:
        register_customer(
            session,
            services.keys,
            CustomerSignup(name="N", email="n@example.com", gender=Gender.woman),
            channel="cli",
        )
    submitted = requests.submit(services, RequestType.erasure, "n@example.com")
    with services.db.session() as session:  # as if confirmed: the token path is tested elsewhere
        request = session.get(PrivacyRequest, submitted.request_id)
        request.status = "confirmed"
    with pytest.raises(ReceiptKeyMissing, match="HEADPIX_RECEIPT_SIGNING_KEY_FILE"):
        run_erasure(services, submitted.request_id)
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
        assert session.get(PrivacyRequest, submitted.request_id).status == "confirmed"


def test_the_embedded_default_makes_its_own_key_outside_the_state_dir(make_services, capsys):
    services = make_services(receipt_signing_key_file="")
    with services.db.session() as session:
        register_customer(
            session,
            services.keys,
            CustomerSignup(name="M", email="m@example.com", gender=Gender.man),
            channel="cli",
        )
    submitted = requests.submit(services, RequestType.erasure, "m@example.com")
    with services.db.session() as session:
        session.get(PrivacyRequest, submitted.request_id).status = "confirmed"
    assert run_erasure(services, submitted.request_id) == "completed"
    key = services.settings.receipt_key_path
    assert key.is_file() and services.settings.state_dir not in key.parents
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    # `keys init` without --out writes where the loader looks: it finds the key already there.
    from headpix.app.cli import main

    assert main(["keys", "init"]) == 1
    assert str(key) in capsys.readouterr().err
