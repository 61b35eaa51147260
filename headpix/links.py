"""Every URL Headpix mails or shows, built in one place from HEADPIX_PUBLIC_URL.

Mail links land on pages of the web layer; no mail asks a customer to run a command.
Tokens ride in the path (the web layer sends ``Referrer-Policy: no-referrer`` and keeps
no access log), and only their hashes are stored.
"""

from __future__ import annotations

from urllib.parse import quote

from headpix.privacy.crypto import KeyRing
from headpix.settings import Settings


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
