"""Data-subject requests: submission, email confirmation, lifecycle and due dates.

Requests that process or disclose data are confirmed with a single-use, expiring token
mailed to the address on file. A request for an unknown address gets the same answer as
any other and nothing is mailed. An objection to marketing only reduces processing, so it
takes effect at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from headpix.errors import CommandError, NotFound
from headpix.gallery import hash_token
from headpix.links import confirm_url
from headpix.mail import dispatch_one, enqueue
from headpix.privacy.audit import record
from headpix.services import Services
from schemas.models import Customer, OutboxMessage, utcnow
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
    R.in_progress: {R.in_progress, R.completed, R.on_hold, R.rejected},
    R.on_hold: {R.in_progress, R.completed, R.cancelled},
    R.completed: set(),
    R.rejected: set(),
    R.cancelled: set(),
}
OPEN = {R.received, R.awaiting_confirmation, R.confirmed, R.in_progress, R.on_hold}
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
) -> RequestView:
    """Record a request and mail its confirmation token; same answer for unknown addresses."""
    now = now or utcnow()
    address = email.strip().lower()
    if type_ is RequestType.rectification and not changes:
        raise CommandError("a rectification needs at least one --set FIELD=VALUE", code="usage", exit_code=2)
    token = new_token()
    with services.db.session() as session:
        customer = session.scalar(select(Customer).where(Customer.email == address))
        ref = services.keys.pseudonym(customer.id if customer else f"address:{address}")
        request = PrivacyRequest(
            type=type_.value,
            customer_id=customer.id if customer else None,
            subject_ref=ref,
            changes=changes or None,
            due_at=due_for(services, type_, now),
            created_at=now,
        )
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
            request.token_hash = hash_token(token)
            request.token_expires_at = now + timedelta(hours=services.settings.request_token_hours)
            move(session, request, R.awaiting_confirmation, actor="system")
            if customer is not None:
                enqueue(
                    session,
                    dedup_key=f"confirm:{request.id}",
                    kind="request_confirmation",
                    customer_id=customer.id,
                    to=customer.email,
                    subject=f"Confirm your {type_.value} request",
                    body=confirmation_body(
                        request.id, type_, token, services.settings.request_token_hours,
                        url=confirm_url(services.settings, request.id, token),
                    ),
                )
        request_id = request.id
    dispatch_request_mail(services, request_id)
    if type_ is RequestType.objection:
        run_handler(services, request_id, now=now)
    with services.db.session() as session:
        return view(load_request(session, request_id))


def new_token() -> str:
    """A single-use confirmation token (192 bits). Hex, not urlsafe base64: a token starting
    with "-" would be read as an option by `headpix privacy confirm … --token TOKEN`."""
    return secrets.token_hex(24)


def confirmation_body(request_id: str, type_: RequestType, token: str, hours: int, *, url: str) -> str:
    return "\n".join(
        [
            "Hello,",
            "",
            f"We received a {type_.value} request for the data we hold about you.",
            "If you made it, confirm it on this page:",
            "",
            f"  {url}",
            "",
            "(or give an operator this request id and token)",
            f"  request: {request_id}",
            f"  token:   {token}",
            "",
            f"The token works once and expires in {hours} hours. If you did not ask, ignore this",
            "message and nothing will happen.",
            "— Headpix",
        ]
    )


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
    request.changes = None
    request.reply_to = None
    move(session, request, R.cancelled, actor="system", reason="unconfirmed")


def status(services: Services, request_id: str) -> RequestView:
    with services.db.session() as session:
        return view(load_request(session, request_id))


def letter(*lines: str) -> str:
    """The body of a request-related email: greeting, the lines, signature."""
    return "\n".join(["Hello,", "", *lines, "", "— Headpix"])


def notify(
    session: Session,
    request: PrivacyRequest,
    *,
    kind: str,
    to: str,
    subject: str,
    lines: list[str],
    tag: str | None = None,
) -> None:
    """Queue mail about a request. Its dedup key ends with the request id, which is what makes
    it request-related mail (sent even while processing is restricted)."""
    enqueue(
        session,
        dedup_key=f"{tag or kind}:{request.id}",
        kind=kind,
        customer_id=request.customer_id,
        to=to,
        subject=subject,
        body=letter(*lines, f"Request: {request.id}"),
    )


def dispatch_request_mail(services: Services, request_id: str) -> None:
    """Hand this request's pending mail to the provider now (confirmation, receipts)."""
    with services.db.session() as session:
        rows = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.dedup_key.like(f"%:{request_id}"), OutboxMessage.status == "pending"
            )
        ).all()
        for row in rows:
            dispatch_one(session, row, services)


Handler = Callable[[Services, str, datetime], None]
HANDLERS: dict[RequestType, Handler] = {}


def handles(type_: RequestType) -> Callable[[Handler], Handler]:
    """Register the function that carries out a confirmed request of one type."""

    def register(function: Handler) -> Handler:
        HANDLERS[type_] = function
        return function

    return register


def run_handler(services: Services, request_id: str, *, now: datetime) -> None:
    from headpix.privacy import handlers  # noqa: F401  (registers every type)

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
