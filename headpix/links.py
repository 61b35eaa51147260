"""Every link a customer gets by mail, built in one place, and the tokens minted for them.

Pages live under ``HEADPIX_PUBLIC_URL`` (the web layer serves them). A token is minted when
the mail is sent, only its SHA-256 is stored, and it travels only in the text handed to
the mail provider: the outbox keeps the kind of link and the id it is for, never the link.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from headpix.settings import Settings
from schemas.models import GalleryLink, OutboxMessage
from schemas.privacy import DataExport, PrivacyRequest

LINK = "{link}"  # where a minted link goes in a queued body


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def gallery_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}/gallery/{token}"


def confirm_url(settings: Settings, request_id: str, token: str) -> str:
    return f"{_base(settings)}/privacy/confirm/{request_id}?token={token}"


def export_url(settings: Settings, request_id: str, token: str) -> str:
    return f"{_base(settings)}/exports/{request_id}?token={token}"


def policy_url(settings: Settings, version: str) -> str:
    return f"{_base(settings)}/policy/{version}"


def unsubscribe_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}/unsubscribe/{token}"


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
            return export_url(settings, row.ref_id, token)
    raise LookupError(f"outbox message {row.id} ({row.kind}) has no link to mint; its subject is gone")
