"""An erasure that could not finish must not start: without a signing key nothing is deleted."""

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


def test_erasure_without_a_signing_key_deletes_nothing(make_services):
    services = make_services(receipt_signing_key_file="")
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
    with pytest.raises(ReceiptKeyMissing, match="headpix keys init"):
        run_erasure(services, submitted.request_id)
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
        assert session.get(PrivacyRequest, submitted.request_id).status == "confirmed"
