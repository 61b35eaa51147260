"""Explicit accessors for the sealed personal columns: every read and write goes through here.

The ORM models hold only sealed bytes (``*_sealed``) and the email's blind index; these
functions take the key ring and return or store plaintext, so a reader sees at the call site
that personal data is opened, and for whom.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from headpix.privacy.crypto import KeyRing
from headpix.sealed_columns import (
    Owner,
    blind_index,
    customer,
    normalise_email,
    open_json,
    open_value,
    request,
    seal_json,
    seal_value,
)
from schemas.models import Customer, Headshot, OriginalPhoto, new_id
from schemas.privacy import PrivacyRequest

# -- customers ---------------------------------------------------------------------------------


def new_customer(
    keys: KeyRing, *, name: str, email: str, preferences: dict[str, Any], **fields: Any
) -> Customer:
    """A customer row with its personal values sealed (their data key is created here)."""
    row = Customer(id=fields.pop("id", None) or new_id(), **fields)
    set_name(keys, row, name)
    set_email(keys, row, email)
    set_preferences(keys, row, preferences)
    return row


def find_by_email(session: Session, keys: KeyRing, email: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.email_index == blind_index(keys, email)))


def customer_id_by_email(session: Session, keys: KeyRing, email: str) -> str | None:
    return session.scalar(select(Customer.id).where(Customer.email_index == blind_index(keys, email)))


def name_of(keys: KeyRing, row: Customer) -> str:
    return open_value(keys, customer(row.id), "customers.name", row.name_sealed)


def email_of(keys: KeyRing, row: Customer) -> str:
    return open_value(keys, customer(row.id), "customers.email", row.email_sealed)


def preferences_of(keys: KeyRing, row: Customer) -> dict[str, Any]:
    return dict(open_json(keys, customer(row.id), "customers.preferences", row.preferences_sealed))


def set_name(keys: KeyRing, row: Customer, name: str) -> None:
    row.name_sealed = seal_value(keys, customer(row.id), "customers.name", name)


def set_email(keys: KeyRing, row: Customer, email: str) -> None:
    address = normalise_email(email)
    row.email_sealed = seal_value(keys, customer(row.id), "customers.email", address)
    row.email_index = blind_index(keys, address)


def set_preferences(keys: KeyRing, row: Customer, preferences: dict[str, Any]) -> None:
    row.preferences_sealed = seal_json(keys, customer(row.id), "customers.preferences", preferences)


# -- photos and headshots (sealed under the shoot's customer) ------------------------------------


def seal_filename(keys: KeyRing, customer_id: str, filename: str) -> bytes:
    return seal_value(keys, customer(customer_id), "original_photos.filename", filename)


def filename_of(keys: KeyRing, customer_id: str, photo: OriginalPhoto) -> str:
    return open_value(keys, customer(customer_id), "original_photos.filename", photo.filename_sealed)


def seal_draft_filename(keys: KeyRing, customer_id: str, filename: str) -> bytes:
    return seal_value(keys, customer(customer_id), "draft_photos.filename", filename)


def draft_filename_of(keys: KeyRing, customer_id: str, sealed: bytes) -> str:
    return open_value(keys, customer(customer_id), "draft_photos.filename", sealed)


def seal_prompts(keys: KeyRing, customer_id: str, headshot: Headshot, *, prompt: str, negative: str) -> None:
    headshot.prompt_sealed = seal_value(keys, customer(customer_id), "headshots.prompt", prompt)
    headshot.negative_prompt_sealed = seal_value(
        keys, customer(customer_id), "headshots.negative_prompt", negative
    )


def prompts_of(keys: KeyRing, customer_id: str, headshot: Headshot) -> tuple[str, str]:
    owner = customer(customer_id)
    return (
        open_value(keys, owner, "headshots.prompt", headshot.prompt_sealed),
        open_value(keys, owner, "headshots.negative_prompt", headshot.negative_prompt_sealed),
    )


# -- privacy requests ------------------------------------------------------------------------------


def request_owner(row: PrivacyRequest) -> Owner:
    """A request's contact fields live under its customer's key, or its own when there is none."""
    return customer(row.customer_id) if row.customer_id else request(row.id)


def changes_of(keys: KeyRing, row: PrivacyRequest) -> dict[str, Any] | None:
    if row.changes_sealed is None:
        return None
    return dict(open_json(keys, request_owner(row), "privacy_requests.changes", row.changes_sealed))


def set_changes(keys: KeyRing, row: PrivacyRequest, changes: dict[str, Any] | None) -> None:
    row.changes_sealed = (
        seal_json(keys, request_owner(row), "privacy_requests.changes", changes) if changes else None
    )


def _reply_owner(row: PrivacyRequest) -> Owner:
    """An erasure's reply address outlives the customer's key (it carries the final notice), so
    it is sealed under the request's own key, destroyed once that notice is handed over."""
    return request(row.id) if row.type == "erasure" else request_owner(row)


def reply_to_of(keys: KeyRing, row: PrivacyRequest) -> str | None:
    if row.reply_to_sealed is None:
        return None
    return open_value(keys, _reply_owner(row), "privacy_requests.reply_to", row.reply_to_sealed)


def set_reply_to(keys: KeyRing, row: PrivacyRequest, address: str | None) -> None:
    row.reply_to_sealed = (
        seal_value(keys, _reply_owner(row), "privacy_requests.reply_to", address) if address else None
    )
