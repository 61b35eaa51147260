"""Rectification of name, email, gender and preferences.

The new values travel in ``request.changes`` until applied, then are cleared (they are
personal). The audit names the fields that changed, never their values. Preferences are
merged key by key; a key set to null is removed. A change of email is confirmed to both
the old and the new address.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from headpix import personal
from headpix.errors import HeadpixError
from headpix.privacy.audit import record
from headpix.privacy.crypto import KeyRing
from headpix.privacy.request_mail import dispatch_request_mail, notify
from headpix.privacy.requests import (
    RECTIFIABLE,
    RequestRefused,
    RequestStatus,
    load_request,
    move,
)
from headpix.services import Services
from schemas.api import EMAIL_PATTERN, Gender, Preferences
from schemas.models import Customer
from schemas.privacy import PrivacyRequest

R = RequestStatus


def validate_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Checked, normalised values; RequestRefused names the first bad field."""
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field not in RECTIFIABLE:
            raise RequestRefused(f"{field} cannot be rectified; fields: {', '.join(RECTIFIABLE)}")
        if field == "name":
            name = str(value).strip()
            if not 1 <= len(name) <= 200:
                raise RequestRefused("name must be 1 to 200 characters")
            clean["name"] = name
        elif field == "email":
            email = str(value).strip().lower()
            if len(email) > 320 or not EMAIL_PATTERN.match(email):
                raise RequestRefused("email is not an email address (expected name@domain.tld)")
            clean["email"] = email
        elif field == "gender":
            try:
                clean["gender"] = Gender.parse(str(value)).value
            except HeadpixError as error:
                raise RequestRefused(error.message) from None
        else:
            if not isinstance(value, dict):
                raise RequestRefused("preferences must be a JSON object")
            unknown = sorted(set(value) - set(Preferences.model_fields))
            if unknown:
                raise RequestRefused(f"unknown preference key(s) {', '.join(unknown)}")
            try:
                given = Preferences.model_validate({k: v for k, v in value.items() if v is not None})
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise RequestRefused(f"preference {where}: {first['msg']}") from None
            validated = given.model_dump(exclude_none=True)
            clean["preferences"] = {key: validated.get(key) for key in value}
    return clean


def rectify(services: Services, request_id: str, now: datetime) -> None:
    """Apply the confirmed changes, audit the field names, confirm by mail, complete."""
    keys = services.keys
    with services.db.session() as session:
        request = load_request(session, request_id)
        customer = session.get(Customer, request.customer_id)
        assert customer is not None
        move(session, request, R.in_progress, actor="system")
        reason: RequestRefused | None = None
        old_email = personal.email_of(keys, customer)
        try:
            clean = validate_changes(personal.changes_of(keys, request) or {})
            if "email" in clean and clean["email"] != old_email:
                taken = personal.customer_id_by_email(session, keys, clean["email"])
                if taken is not None:
                    raise RequestRefused("that email address belongs to another account")
        except RequestRefused as refused:
            reason = refused
        else:
            changed = apply(keys, customer, clean)
            record(
                session,
                actor="customer",
                action="customer.rectified",
                subject_ref=request.subject_ref,
                request_id=request.id,
                details={"fields": changed},
            )
            request.outcome = {"fields_changed": len(changed)}
            request.completed_at = now
            move(session, request, R.completed, actor="system")
            queue_confirmations(session, keys, request, personal.email_of(keys, customer), old_email, changed)
        request.changes_sealed = None
        if reason is not None:
            request.completed_at = now
            move(session, request, R.rejected, actor="system", reason="invalid_value")
    if reason is not None:
        raise reason
    dispatch_request_mail(services, request_id)


def apply(keys: KeyRing, customer: Customer, clean: dict[str, Any]) -> list[str]:
    """Set the new values (sealed); return the names of the fields that really changed."""
    current: dict[str, Any] = {
        "name": personal.name_of(keys, customer),
        "email": personal.email_of(keys, customer),
        "gender": customer.gender,
        "preferences": personal.preferences_of(keys, customer),
    }
    changed = []
    for field, value in clean.items():
        if field == "preferences":
            merged = dict(current["preferences"])
            for key, item in value.items():
                if item is None:
                    merged.pop(key, None)
                else:
                    merged[key] = item
            value = merged
        if current[field] == value:
            continue
        changed.append(field)
        if field == "name":
            personal.set_name(keys, customer, value)
        elif field == "email":
            personal.set_email(keys, customer, value)
        elif field == "preferences":
            personal.set_preferences(keys, customer, value)
        else:
            customer.gender = value
    return sorted(changed)


def queue_confirmations(
    session: Session,
    keys: KeyRing,
    request: PrivacyRequest,
    email: str,
    old_email: str,
    changed: list[str],
) -> None:
    """Confirm the correction by mail; when the email changed, to the old and the new address."""
    fields = ", ".join(changed) if changed else "nothing (the values were already on file)"
    lines = [
        f"As you asked, we corrected your details. Fields changed: {fields}.",
        "If you did not ask for this, contact us at once.",
    ]
    subject = "Your details have been corrected"
    addresses = {"rectification-old": old_email, "rectification-new": email}
    if "email" not in changed:
        addresses = {"rectification": email}
    for tag, address in addresses.items():
        notify(
            session, keys, request, kind="rectification", tag=tag, to=address, subject=subject, lines=lines
        )
