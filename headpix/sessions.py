"""Web sessions and sign-in links, both rows of ``sign_in_tokens`` holding only a hash.

A session token lives in one cookie; its row expires after ``session_idle_minutes`` without
use and never outlives ``session_absolute_hours`` from creation. A sign-in link is single use
and expires after ``sign_in_link_minutes``. The two are hashed with different prefixes, so a
link can never be presented as a session or the other way round. Erasure deletes the rows
with the customer (``sign_in_tokens`` is in the inventory under ``sessions``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from headpix.services import Services
from schemas.models import Customer, utcnow
from schemas.privacy import SignInToken
from schemas.web import WebAccount

SLIDE_EVERY = timedelta(minutes=1)  # write the idle expiry at most once a minute per session


def token_hash(kind: str, token: str) -> str:
    return hashlib.sha256(f"{kind}:{token}".encode()).hexdigest()


def _absolute_end(services: Services, created_at: datetime) -> datetime:
    return created_at + timedelta(hours=services.settings.session_absolute_hours)


def create_session(services: Services, *, customer_id: str, now: datetime | None = None) -> str:
    """A new session for the customer; returns the token for the cookie (never stored)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    idle = now + timedelta(minutes=services.settings.session_idle_minutes)
    with services.db.session() as session:
        session.add(
            SignInToken(
                customer_id=customer_id,
                token_hash=token_hash("session", token),
                expires_at=min(idle, _absolute_end(services, now)),
                created_at=now,
            )
        )
    return token


def session_customer(services: Services, token: str, *, now: datetime | None = None) -> str | None:
    """The customer id of a live session, sliding its idle expiry; None when unknown or expired."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    with services.db.session() as session:
        row = session.scalar(
            select(SignInToken).where(SignInToken.token_hash == token_hash("session", token))
        )
        if row is None:
            return None
        if row.expires_at <= now:
            session.delete(row)
            return None
        slid = min(
            now + timedelta(minutes=services.settings.session_idle_minutes),
            _absolute_end(services, row.created_at),
        )
        if slid - row.expires_at >= SLIDE_EVERY:
            row.expires_at = slid
        return row.customer_id


def end_session(services: Services, token: str) -> None:
    """Sign-out: the row goes, so the cookie is worthless even if kept."""
    with services.db.session() as session:
        session.execute(delete(SignInToken).where(SignInToken.token_hash == token_hash("session", token)))


def create_sign_in_link(services: Services, *, customer_id: str, now: datetime | None = None) -> str:
    """A single-use sign-in token for a mailed link (the link also proves the address)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with services.db.session() as session:
        session.add(
            SignInToken(
                customer_id=customer_id,
                token_hash=token_hash("link", token),
                expires_at=now + timedelta(minutes=services.settings.sign_in_link_minutes),
                created_at=now,
            )
        )
    return token


def sign_in_link_valid(services: Services, token: str, *, now: datetime | None = None) -> bool:
    """Whether a link would sign in, without using it up (its page shows a button)."""
    if not token or len(token) > 100:
        return False
    now = now or utcnow()
    with services.db.session() as session:
        row = session.scalar(select(SignInToken).where(SignInToken.token_hash == token_hash("link", token)))
        return row is not None and row.expires_at > now


def use_sign_in_link(services: Services, token: str, *, now: datetime | None = None) -> str | None:
    """Consume a link: its row is deleted whatever the outcome; the customer id when it was valid."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    with services.db.session() as session:
        row = session.scalar(select(SignInToken).where(SignInToken.token_hash == token_hash("link", token)))
        if row is None:
            return None
        customer_id, valid = row.customer_id, row.expires_at > now
        session.delete(row)
        if valid:
            customer = session.get(Customer, customer_id)
            if customer is not None:  # signing in is activity: the inactivity clock starts again
                customer.last_active_at = now
            account = session.get(WebAccount, customer_id)
            if account is None:
                session.add(WebAccount(customer_id=customer_id, address_proven_at=now, created_at=now))
            elif account.address_proven_at is None:
                account.address_proven_at = now
    return customer_id if valid else None


def address_proven(services: Services, customer_id: str) -> bool:
    with services.db.session() as session:
        account = session.get(WebAccount, customer_id)
        return account is not None and account.address_proven_at is not None
