"""Every URL Headpix mails or shows, built in one place, and the tokens minted for them.

Pages live under ``HEADPIX_PUBLIC_URL`` (the web layer serves them); no mail asks a customer
to run a command. A token is minted when the mail is sent, only its SHA-256 is stored, and it
travels only in the text handed to the mail provider: the outbox keeps the kind of link and
the id it is for, never the link. Tokens ride in the path (the web layer sends
``Referrer-Policy: no-referrer`` and keeps no access log).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from headpix.privacy.crypto import KeyRing
from headpix.settings import Settings
from schemas.models import GalleryLink, OutboxMessage
from schemas.privacy import DataExport, PrivacyRequest

LINK = "{link}"  # where a minted link goes in a queued body


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def home_url(settings: Settings) -> str:
    return _base(settings) + "/"


def sign_in_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}/signin/{token}"


def confirm_url(settings: Settings, request_id: str, token: str) -> str:
    return f"{_base(settings)}/privacy/confirm/{request_id}/{token}"


def gallery_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}/g/{token}"


def export_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}/exports/{token}"


def shoot_url(settings: Settings, shoot_id: str) -> str:
    return f"{_base(settings)}/shoots/{shoot_id}"


def policy_notice_url(settings: Settings, version: str) -> str:
    return f"{_base(settings)}/policy/{quote(version, safe='')}"


def unsubscribe_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}/unsubscribe/{token}"


def privacy_centre_url(settings: Settings) -> str:
    return f"{_base(settings)}/privacy"


def unsubscribe_token(keys: KeyRing, customer_id: str) -> str:
    """The token of a marketing mail's one-click unsubscribe link: the id and a keyed signature."""
    return f"{customer_id}.{keys.pseudonym('unsubscribe:' + customer_id)[:32]}"


def list_unsubscribe_headers(settings: Settings, keys: KeyRing, customer_id: str) -> dict[str, str]:
    """RFC 8058 headers every marketing mail carries (for the mail adapter to add)."""
    url = unsubscribe_url(settings, unsubscribe_token(keys, customer_id))
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """192 bits, hex: safe in a URL and never mistaken for a command-line option."""
    return secrets.token_hex(24)


def mint_link(session: Session, settings: Settings, row: OutboxMessage, now: datetime) -> str:
    """Mint the token of the link this message carries and store its hash; return the link."""
    token = new_token()
    if row.kind in ("delivery", "gallery_link") and row.ref_id:
        session.add(
            GalleryLink(
                shoot_id=row.ref_id,
                token_hash=hash_token(token),
                expires_at=now + timedelta(days=settings.gallery_link_days),
                created_at=now,
            )
        )
        return gallery_url(settings, token)
    if row.kind == "request_confirmation" and row.ref_id:
        request = session.get(PrivacyRequest, row.ref_id)
        if request is not None:
            request.token_hash = hash_token(token)  # the latest mail's token is the one that works
            return confirm_url(settings, request.id, token)
    if row.kind == "export_ready" and row.ref_id:
        export = session.scalar(select(DataExport).where(DataExport.request_id == row.ref_id))
        if export is not None:
            export.token_hash = hash_token(token)
            return export_url(settings, token)
    raise LookupError(f"outbox message {row.id} ({row.kind}) has no link to mint; its subject is gone")
