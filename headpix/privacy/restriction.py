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

from headpix.errors import CommandError
from headpix.mail import dispatch_one
from headpix.privacy.audit import record
from headpix.privacy.requests import (
    RequestRefused,
    RequestStatus,
    RequestType,
    dispatch_request_mail,
    load_request,
    move,
    notify,
)
from headpix.services import Services
from headpix.shoots import S, ShootStopped, advance
from schemas.models import Customer, OutboxMessage, Photoshoot
from schemas.privacy import PrivacyRequest, Restriction

log = logging.getLogger(__name__)
R = RequestStatus


def active_restriction(session: Session, customer_id: str) -> Restriction | None:
    return session.scalar(
        select(Restriction)
        .where(Restriction.customer_id == customer_id, Restriction.lifted_at.is_(None))
        .order_by(Restriction.placed_at)
        .limit(1)
    )


def is_restricted(session: Session, customer_id: str) -> bool:
    """Whether a restriction of processing is in force for this customer."""
    return active_restriction(session, customer_id) is not None


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
            request,
            kind="restriction_placed",
            tag="restriction",
            to=customer.email,
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
            request,
            kind="restriction_lifted",
            tag="restriction-lifted",
            to=customer.email,
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
    with services.db.session() as session:
        for row_id in released:
            message = session.get(OutboxMessage, row_id)
            if message is not None:
                dispatch_one(session, message, services)
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


def may_send(session: Session, row: OutboxMessage) -> bool:
    """While restricted, only mail about a privacy request (dedup key ``…:<request id>``) leaves."""
    if row.customer_id is None or not is_restricted(session, row.customer_id):
        return True
    request_id = row.dedup_key.rsplit(":", 1)[-1]
    request = session.get(PrivacyRequest, request_id)
    return request is not None and request.customer_id == row.customer_id
