"""Data-subject requests: submission, email confirmation, lifecycle and due dates.

Requests that process or disclose data are confirmed with a single-use, expiring token
mailed to the address on file. A request for an unknown address gets the same answer as
any other and nothing is mailed. An objection to marketing only reduces processing, so it
takes effect at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from headpix import personal
from headpix.errors import CommandError, NotFound
from headpix.links import LINK, hash_token
from headpix.outbox import enqueue
from headpix.privacy.audit import record
from headpix.privacy.request_mail import (
    confirmation_body,
    confirmation_subject,
    dispatch_request_mail,
    scope_words,
)
from headpix.services import Services
from schemas.models import new_id, utcnow
from schemas.privacy import PrivacyRequest


class RequestType(StrEnum):
    access = "access"
    portability = "portability"
    rectification = "rectification"
    restriction = "restriction"
    objection = "objection"
    erasure = "erasure"


class RequestStatus(StrEnum):
    received = "received"
    awaiting_confirmation = "awaiting_confirmation"
    confirmed = "confirmed"
    in_progress = "in_progress"
    completed = "completed"
    rejected = "rejected"
    cancelled = "cancelled"
    on_hold = "on_hold"
    needs_attention = "needs_attention"  # an erasure whose verification failed: operators act


R = RequestStatus
NEEDS_CONFIRMATION = {
    RequestType.access,
    RequestType.portability,
    RequestType.rectification,
    RequestType.restriction,
    RequestType.erasure,
}
TRANSITIONS: dict[RequestStatus, set[RequestStatus]] = {
    R.received: {R.awaiting_confirmation, R.in_progress, R.rejected, R.cancelled},
    R.awaiting_confirmation: {R.confirmed, R.rejected, R.cancelled},
    R.confirmed: {R.in_progress, R.on_hold, R.cancelled},
    R.in_progress: {R.in_progress, R.completed, R.on_hold, R.rejected, R.needs_attention},
    R.on_hold: {R.in_progress, R.completed, R.cancelled},
    R.needs_attention: {R.in_progress},
    R.completed: set(),
    R.rejected: set(),
    R.cancelled: set(),
}
OPEN = {R.received, R.awaiting_confirmation, R.confirmed, R.in_progress, R.on_hold, R.needs_attention}
RECTIFIABLE = ("name", "email", "gender", "preferences")


class RequestRefused(CommandError):
    """The request cannot move that way (expired or reused token, transition not allowed)."""

    code = "refused"


@dataclass(frozen=True)
class RequestView:
    request_id: str
    type: str
    status: str
    due_at: str | None
    completed_at: str | None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def view(request: PrivacyRequest) -> RequestView:
    return RequestView(
        request.id,
        request.type,
        request.status,
        request.due_at.isoformat() if request.due_at else None,
        request.completed_at.isoformat() if request.completed_at else None,
    )


def move(session: Session, request: PrivacyRequest, to: RequestStatus, *, actor: str, **details: Any) -> None:
    """Change a request's status along the allowed transitions, with an audit event."""
    current = RequestStatus(request.status)
    if to not in TRANSITIONS[current]:
        raise RequestRefused(f"request {request.id} cannot go from {current} to {to}")
    request.status = to.value
    record(
        session,
        actor=actor,
        action=f"request.{to.value}",
        subject_ref=request.subject_ref,
        request_id=request.id,
        details={"type": request.type, **details},
    )


def due_for(services: Services, type_: RequestType, start: datetime) -> datetime:
    days = services.settings.erasure_days if type_ is RequestType.erasure else services.settings.request_days
    return start + timedelta(days=days)


def load_request(session: Session, request_id: str) -> PrivacyRequest:
    request = session.get(PrivacyRequest, request_id)
    if request is None:
        raise NotFound(f"no privacy request with id {request_id}")
    return request


def parse_changes(pairs: list[str]) -> dict[str, Any]:
    """`--set FIELD=VALUE` pairs of a rectification; preferences take a JSON object."""
    import json

    changes: dict[str, Any] = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or field not in RECTIFIABLE:
            raise CommandError(
                f"--set {pair!r}: expected FIELD=VALUE with FIELD one of {', '.join(RECTIFIABLE)}",
                code="usage",
                exit_code=2,
            )
        changes[field] = json.loads(value) if field == "preferences" else value
    return changes


def submit(
    services: Services,
    type_: RequestType,
    email: str,
    *,
    changes: dict[str, Any] | None = None,
    now: datetime | None = None,
    actor: str = "customer",
    scope: str | None = None,
) -> RequestView:
    """Record a request and mail its confirmation token; same answer for unknown addresses.

    An erasure may name a ``scope`` (``shoot:ID``, ``headshots``, …; none is everything).
    """
    from headpix.privacy.erasure_scope import check_scope

    now = now or utcnow()
    address = email.strip().lower()
    if type_ is RequestType.rectification and not changes:
        raise CommandError("a rectification needs at least one --set FIELD=VALUE", code="usage", exit_code=2)
    keys = services.keys
    with services.db.session() as session:
        customer = personal.find_by_email(session, keys, address)
        ref = keys.pseudonym(customer.id if customer else f"address:{address}")
        scope = check_scope(session, type_.value, scope, customer.id if customer else None)
        request = PrivacyRequest(
            id=new_id(),
            type=type_.value,
            customer_id=customer.id if customer else None,
            subject_ref=ref,
            scope=scope,
            due_at=due_for(services, type_, now),
            created_at=now,
        )
        personal.set_changes(keys, request, changes or None)
        session.add(request)
        session.flush()
        record(
            session,
            actor=actor,
            action="request.received",
            subject_ref=ref,
            request_id=request.id,
            details={"type": type_.value},
        )
        if type_ in NEEDS_CONFIRMATION:
            # The token itself is minted when the confirmation mail is sent (headpix.links).
            request.token_expires_at = now + timedelta(hours=services.settings.request_token_hours)
            move(session, request, R.awaiting_confirmation, actor="system")
            if customer is not None:
                what = scope_words(session, scope)  # a scoped erasure names what it deletes
                enqueue(
                    session,
                    keys,
                    dedup_key=f"confirm:{request.id}",
                    kind="request_confirmation",
                    customer_id=customer.id,
                    request_id=request.id,
                    ref_id=request.id,
                    to=personal.email_of(keys, customer),
                    subject=confirmation_subject(type_.value, what),
                    body=confirmation_body(type_.value, LINK, services.settings.request_token_hours, what),
                )
        request_id = request.id
    dispatch_request_mail(services, request_id)
    if type_ is RequestType.objection:
        run_handler(services, request_id, now=now)
    with services.db.session() as session:
        return view(load_request(session, request_id))


def confirm(services: Services, request_id: str, token: str, *, now: datetime | None = None) -> RequestView:
    """Check the single-use token, confirm the request and carry it out."""
    now = now or utcnow()
    refusal: str | None = None
    with services.db.session() as session:
        request = load_request(session, request_id)
        status = RequestStatus(request.status)
        if status is not R.awaiting_confirmation:
            raise RequestRefused(f"request {request_id} is {status.value}; it cannot be confirmed again")
        if request.token_expires_at is not None and now > request.token_expires_at:
            expire(session, request)
            refusal = f"the token for request {request_id} has expired; submit a new request"
        elif request.token_hash is None or not secrets.compare_digest(request.token_hash, hash_token(token)):
            record(
                session,
                actor="customer",
                action="request.bad_token",
                subject_ref=request.subject_ref,
                request_id=request_id,
            )
            refusal = f"the token does not match request {request_id}"
        if refusal is None:
            _accept(services, request, now)
    if refusal is not None:  # raised after the commit: the expiry and the audit event are kept
        raise RequestRefused(refusal)
    run_handler(services, request_id, now=now)
    with services.db.session() as session:
        return view(load_request(session, request_id))


def _accept(services: Services, request: PrivacyRequest, now: datetime) -> None:
    """The token matched: single use, so it goes; the due date runs from confirmation."""
    request.token_hash = None
    request.token_expires_at = None
    request.confirmed_at = now
    type_ = RequestType(request.type)
    due = due_for(services, type_, now)
    # A deadline set earlier (a consent withdrawal before a policy takes effect) is kept.
    if request.due_at is not None and request.due_at < due_for(services, type_, request.created_at):
        due = min(due, request.due_at)
    request.due_at = due
    session = Session.object_session(request)
    assert session is not None
    move(session, request, R.confirmed, actor="customer")


def expire(session: Session, request: PrivacyRequest) -> None:
    """An unconfirmed request does nothing and expires; its personal fields go with it."""
    request.token_hash = None
    request.changes_sealed = None
    request.reply_to_sealed = None
    move(session, request, R.cancelled, actor="system", reason="unconfirmed")


def status(services: Services, request_id: str) -> RequestView:
    with services.db.session() as session:
        return view(load_request(session, request_id))


def run_handler(services: Services, request_id: str, *, now: datetime) -> None:
    from headpix.privacy.handlers import HANDLERS  # the table imports every handler module

    with services.db.session() as session:
        request = load_request(session, request_id)
        type_ = RequestType(request.type)
        if request.customer_id is None:
            # Unknown address: nothing to do and nothing to reveal; it completes like any other.
            if RequestStatus(request.status) in (R.confirmed, R.received):
                move(session, request, R.in_progress, actor="system")
                move(session, request, R.completed, actor="system")
                request.completed_at = now
            return
    HANDLERS[type_](services, request_id, now)
