"""The adapter between the web layer and today's core: the one module the privacy rework touches.

Customer lookup by address, sign-up, requests, confirmation and downloads go through here, so
that sealed columns, blind indexes and scoped erasure change these lines and no route.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import select

from headpix import analytics, links, personal, sessions
from headpix.errors import HeadpixError
from headpix.links import hash_token
from headpix.outbox import dispatch, enqueue
from headpix.policy import withdraw_consent as withdraw
from headpix.privacy import request_mail, requests, restriction
from headpix.privacy.rectification import validate_changes
from headpix.privacy.requests import RequestRefused, RequestType, RequestView
from headpix.services import Services
from headpix.shoots import register_customer
from schemas.api import CustomerSignup
from schemas.models import Customer, GalleryLink, Headshot, Photoshoot, utcnow
from schemas.privacy import Consent, DataExport, PolicyVersion, PrivacyRequest
from schemas.web import WebAccount


def customer_id_by_email(services: Services, email: str) -> str | None:
    with services.db.session() as session:
        return personal.customer_id_by_email(session, services.keys, email.strip().lower())


def customer_summary(services: Services, customer_id: str) -> dict[str, Any]:
    """Name and address for the account page (the only place the web shows them)."""
    with services.db.session() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            return {}
        keys = services.keys
        return {
            "name": personal.name_of(keys, customer),
            "email": personal.email_of(keys, customer),
            "policy_version": customer.policy_version,
        }


def sign_up(services: Services, signup: CustomerSignup) -> str:
    """Register a new customer with consent recorded on channel ``web``; returns their id."""
    services.migrate()
    with services.db.session() as session:
        customer = register_customer(session, services.keys, signup, channel="web")
        session.add(WebAccount(customer_id=customer.id, address_proven_at=None))
        analytics.count(session, "signup", utcnow())
        return customer.id


def mail_sign_in_link(services: Services, *, customer_id: str, first: bool) -> None:
    """Mail a single-use sign-in link; for a new account the same link proves the address."""
    token = sessions.create_sign_in_link(services, customer_id=customer_id)
    url = links.sign_in_url(services.settings, token)
    minutes = services.settings.sign_in_link_minutes
    lead = (
        "Welcome to Headpix. Open this link to confirm your address; your photoshoot starts once you have:"
        if first
        else "Open this link to sign in to Headpix:"
    )
    keys = services.keys
    with services.db.session() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            return
        row = enqueue(
            session,
            keys,
            dedup_key=f"sign_in:{hashlib.sha256(token.encode()).hexdigest()[:32]}",
            kind="sign_in",
            customer_id=customer_id,
            to=personal.email_of(keys, customer),
            subject="Confirm your address" if first else "Your Headpix sign-in link",
            body="\n".join(
                [
                    f"Hello {personal.name_of(keys, customer)},",
                    "",
                    lead,
                    url,
                    "",
                    f"The link works once and expires in {minutes} "
                    "minutes. If you did not ask for it, ignore this message.",
                    "— Headpix",
                ]
            ),
        )
        message_id = row.id
    dispatch(services, message_id)


def change_valid(field: str, value: Any) -> bool:
    """Whether a rectification's new value for one field would be accepted."""
    try:
        validate_changes({field: value})
    except HeadpixError:
        return False
    return True


def submit_request(
    services: Services, type_: RequestType, email: str, *, changes: dict[str, Any] | None = None
) -> RequestView:
    if changes:
        validate_changes(changes)
    return requests.submit(services, type_, email, changes=changes)


def request_shoot_erasure(services: Services, customer_id: str, shoot_id: str) -> RequestView:
    """Delete one shoot: a scoped erasure (``shoot:<id>``), confirmed by mail like any other."""
    with services.db.session() as session:
        customer = session.get(Customer, customer_id)
        shoot = session.get(Photoshoot, shoot_id)
        if customer is None or shoot is None or shoot.customer_id != customer_id:
            raise RequestRefused("no such shoot")
        email = personal.email_of(services.keys, customer)
    return requests.submit(services, RequestType.erasure, email, scope=f"shoot:{shoot_id}")


def erasure_words(services: Services, scope: str | None) -> str | None:
    """What a scoped erasure deletes, as the customer knows it ("your photoshoot of 3 Mar 2025
    (reference 1a2b3c4d)"); None for the whole account."""
    with services.db.session() as session:
        return request_mail.scope_words(session, scope)


def request_pending_confirmation(services: Services, request_id: str, token: str) -> PrivacyRequest | None:
    """The request a confirmation link names, when the token matches and it still waits."""
    with services.db.session() as session:
        request = session.get(PrivacyRequest, request_id)
        if request is None or request.status != "awaiting_confirmation" or request.token_hash is None:
            return None
        if not hmac.compare_digest(request.token_hash.encode(), hash_token(token).encode()):
            return None
        if request.token_expires_at is not None and request.token_expires_at <= utcnow():
            return None
        session.expunge(request)
        return request


def confirm_request(services: Services, request_id: str, token: str) -> RequestView:
    return requests.confirm(services, request_id, token)


def lift_restriction(services: Services, request_id: str) -> None:
    restriction.lift(services, request_id, utcnow())


def own_request(services: Services, customer_id: str, request_id: str) -> RequestView | None:
    with services.db.session() as session:
        request = session.get(PrivacyRequest, request_id)
        if request is None or request.customer_id != customer_id:
            return None
        return requests.view(request)


def customer_requests(services: Services, customer_id: str) -> list[RequestView]:
    with services.db.session() as session:
        rows = session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.customer_id == customer_id)
            .order_by(PrivacyRequest.created_at.desc())
        )
        return [requests.view(r) for r in rows]


def export_by_token(services: Services, token: str) -> DataExport | None:
    with services.db.session() as session:
        row = session.scalar(select(DataExport).where(DataExport.token_hash == hash_token(token)))
        if row is None or row.expires_at <= utcnow():
            return None
        session.expunge(row)
        return row


def export_of_request(services: Services, customer_id: str, request_id: str) -> DataExport | None:
    with services.db.session() as session:
        row = session.scalar(select(DataExport).where(DataExport.request_id == request_id))
        if row is None or row.customer_id != customer_id or row.expires_at <= utcnow():
            return None
        session.expunge(row)
        return row


def shoot_of_gallery_token(services: Services, token: str) -> str | None:
    if not token or len(token) > 100:
        return None
    with services.db.session() as session:
        link = session.scalar(select(GalleryLink).where(GalleryLink.token_hash == hash_token(token)))
        if link is None or link.expires_at <= utcnow():
            return None
        return link.shoot_id


def own_shoot(services: Services, customer_id: str, shoot_id: str) -> bool:
    with services.db.session() as session:
        shoot = session.get(Photoshoot, shoot_id)
        return shoot is not None and shoot.customer_id == customer_id


def customer_shoots(services: Services, customer_id: str) -> list[dict[str, Any]]:
    with services.db.session() as session:
        rows = session.scalars(
            select(Photoshoot)
            .where(Photoshoot.customer_id == customer_id)
            .order_by(Photoshoot.created_at.desc())
        )
        return [{"id": s.id, "status": s.status, "created_at": s.created_at} for s in rows]


def headshots_of(services: Services, shoot_id: str) -> list[dict[str, Any]]:
    with services.db.session() as session:
        rows = session.scalars(
            select(Headshot)
            .where(Headshot.shoot_id == shoot_id, Headshot.rendered_at.is_not(None))
            .order_by(Headshot.ordinal)
        )
        return [{"id": h.id, "style": h.style, "ordinal": h.ordinal, "key": h.key} for h in rows]


def unsubscribe_token(services: Services, customer_id: str) -> str:
    return links.unsubscribe_token(services.keys, customer_id)


def unsubscribe_headers(services: Services, customer_id: str) -> dict[str, str]:
    return links.list_unsubscribe_headers(services.settings, services.keys, customer_id)


def customer_of_unsubscribe(services: Services, token: str) -> str | None:
    customer_id, _, _sig = token.partition(".")
    if not customer_id or len(token) > 120:
        return None
    if not hmac.compare_digest(unsubscribe_token(services, customer_id).encode(), token.encode()):
        return None
    return customer_id


def object_to_marketing(services: Services, customer_id: str) -> RequestView | None:
    """One-click unsubscribe is the objection right, taking effect at once."""
    with services.db.session() as session:
        customer = session.get(Customer, customer_id)
        email = personal.email_of(services.keys, customer) if customer else None
    return requests.submit(services, RequestType.objection, email) if email else None


def policy_version(services: Services, version: str) -> dict[str, Any] | None:
    with services.db.session() as session:
        row = session.scalar(select(PolicyVersion).where(PolicyVersion.version == version))
        if row is None:
            return None
        return {"version": row.version, "effective_at": row.effective_at, "text": row.text}


def accept_policy(services: Services, customer_id: str, version: str) -> None:
    """Record the customer's acceptance of a new policy version (channel ``web``), once."""
    with services.db.session() as session:
        done = session.scalar(
            select(Consent).where(
                Consent.customer_id == customer_id,
                Consent.policy_version == version,
                Consent.action == "accepted",
            )
        )
        if done is None:
            session.add(
                Consent(customer_id=customer_id, policy_version=version, action="accepted", channel="web")
            )


def withdraw_consent(services: Services, customer_id: str, version: str) -> str:
    """Withdrawal in the notice window: the erasure request, confirmed by mail; returns its id."""
    email = customer_summary(services, customer_id).get("email", "")
    return withdraw(services, email, version, channel="web").request_id
