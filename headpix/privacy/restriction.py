"""Restriction of processing: the customer's data is kept but not processed until lifted.

A confirmed restriction places a ``Restriction`` row and the request stays ``in_progress``
(its deadline is met, so ``due_at`` is cleared) until ``lift`` completes it. While a
restriction is in force: new shoots are refused, a running shoot pauses at its next stage
boundary with its originals and crops kept, and the outbox holds every message to the
customer that is not about a privacy request (status ``held``); lifting releases them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from headpix import personal
from headpix.errors import CommandError
from headpix.outbox_batches import dispatch_pending
from headpix.privacy.audit import record
from headpix.privacy.request_mail import dispatch_request_mail, notify
from headpix.privacy.requests import RequestRefused, RequestStatus, RequestType, load_request, move
from headpix.safeguards import active_restriction, is_restricted
from headpix.services import Services
from headpix.shoots import S, ShootStopped, advance
from schemas.models import Customer, OutboxMessage, Photoshoot
from schemas.privacy import PrivacyRequest, Restriction

log = logging.getLogger(__name__)
R = RequestStatus


__all__ = ["active_restriction", "is_restricted", "lift", "pause_if_restricted", "place", "unpause"]


def place(services: Services, request_id: str, now: datetime) -> None:
    """Put the restriction in force and acknowledge it; the request stays open until lifted."""
    with services.db.session() as session:
        request = load_request(session, request_id)
        customer = session.get(Customer, request.customer_id)
        assert customer is not None
        move(session, request, R.in_progress, actor="system")
        session.add(Restriction(customer_id=customer.id, request_id=request.id, placed_at=now))
        request.due_at = None  # carried out now; it stays open only until lifted
        request.outcome = {"restriction": 1}
        record(
            session,
            actor="system",
            action="restriction.placed",
            subject_ref=request.subject_ref,
            request_id=request.id,
        )
        notify(
            session,
            services.keys,
            request,
            kind="restriction_placed",
            tag="restriction",
            to=personal.email_of(services.keys, customer),
            subject="Processing of your data is restricted",
            lines=[
                "As you asked, we have stopped processing your data. We keep it, but run no",
                "photoshoot and send you nothing except mail about your privacy requests.",
                "A photoshoot in progress is paused with its photos kept.",
            ],
        )
    dispatch_request_mail(services, request_id)


def lift(services: Services, request_id: str, now: datetime) -> None:
    """End a restriction: notify the customer, release held mail, resume paused shoots."""
    from headpix import shoot_control

    with services.db.session() as session:
        request = load_request(session, request_id)
        if request.type != RequestType.restriction.value:
            raise RequestRefused(f"request {request_id} is a {request.type} request, not a restriction")
        restriction = session.scalar(
            select(Restriction).where(Restriction.request_id == request_id, Restriction.lifted_at.is_(None))
        )
        if restriction is None or request.status != R.in_progress.value:
            raise RequestRefused(f"request {request_id} is {request.status}; its restriction is not in force")
        restriction.lifted_at = now
        request.completed_at = now
        move(session, request, R.completed, actor="operator", lifted=1)
        customer = session.get(Customer, restriction.customer_id)
        assert customer is not None
        notify(
            session,
            services.keys,
            request,
            kind="restriction_lifted",
            tag="restriction-lifted",
            to=personal.email_of(services.keys, customer),
            subject="Processing of your data is no longer restricted",
            lines=[
                "The restriction of processing you asked for has been lifted. A paused",
                "photoshoot now continues where it stopped.",
            ],
        )
        session.flush()
        released: list[str] = []
        paused: list[str] = []
        if not is_restricted(session, customer.id):
            held = session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.customer_id == customer.id, OutboxMessage.status == "held"
                )
            ).all()
            for row in held:
                row.status = "pending"
                released.append(row.id)
            paused = list(
                session.scalars(
                    select(Photoshoot.id).where(
                        Photoshoot.customer_id == customer.id, Photoshoot.status == S.paused.value
                    )
                )
            )
    dispatch_request_mail(services, request_id)
    dispatch_pending(services, released)
    for shoot_id in paused:
        log.info("shoot %s resumes after restriction lifted", shoot_id)
        shoot_control.resume(services, shoot_id)


def pause_if_restricted(session: Session, shoot: Photoshoot) -> None:
    """At a stage boundary: pause the shoot (committed at once) and stop, if restricted."""
    restriction = active_restriction(session, shoot.customer_id)
    if restriction is None:
        return
    request = session.get(PrivacyRequest, restriction.request_id)
    paused_from = shoot.status
    detail = "Paused: processing is restricted at your request."
    # The caller's transaction rolls back when ShootStopped propagates: record the pause apart.
    with Session(bind=session.get_bind()) as other, other.begin():
        row = other.get(Photoshoot, shoot.id)
        assert row is not None
        advance(row, S.paused, detail=detail)
        row.paused_from = paused_from
        record(
            other,
            actor="system",
            action="shoot.paused",
            subject_ref=request.subject_ref if request else None,
            request_id=restriction.request_id,
            details={"stage": paused_from},
        )
    shoot.status, shoot.paused_from, shoot.status_detail = S.paused.value, paused_from, detail
    raise ShootStopped(f"shoot {shoot.id} is paused by a restriction of processing")


def unpause(session: Session, shoot: Photoshoot) -> None:
    """Put a paused shoot back where it stopped; refuse while the restriction is in force."""
    if is_restricted(session, shoot.customer_id):
        raise CommandError(
            f"shoot {shoot.id} is paused by a restriction of processing; lift it first.", code="paused"
        )
    advance(shoot, S(shoot.paused_from or S.received.value), detail="")
    shoot.paused_from = None
