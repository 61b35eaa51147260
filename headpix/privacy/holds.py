"""Legal holds: data of a customer that must not be erased while a case is open.

A hold names inventory categories (an empty scope means every category). Erasure asks
`active_holds` and `held_categories` and keeps what is held; releasing the hold finishes
every erasure of that customer that waited on it, in the same step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from headpix.errors import CommandError, NotFound
from headpix.inventory import CATEGORIES
from headpix.privacy.audit import record
from headpix.privacy.erasure import try_erasure
from headpix.services import Services
from schemas.models import Customer, utcnow
from schemas.privacy import LegalHold, PrivacyRequest


@dataclass(frozen=True)
class Released:
    hold_id: str
    erasures: dict[str, str]  # request id -> status after the release


def check_scope(scope: Sequence[str]) -> list[str]:
    unknown = sorted(set(scope) - set(CATEGORIES))
    if unknown:
        raise CommandError(
            f"unknown hold scope {', '.join(unknown)}; categories are: {', '.join(CATEGORIES)}",
            code="usage",
            exit_code=2,
        )
    return sorted(set(scope))


def place(
    services: Services,
    *,
    customer_id: str,
    case_ref: str,
    review_by: datetime,
    scope: Sequence[str] = (),
    now: datetime | None = None,
) -> str:
    """Place a hold on a customer's data; return the hold id."""
    now = now or utcnow()
    categories = check_scope(scope)
    if not case_ref.strip():
        raise CommandError("a hold needs a case reference (--case)", code="usage", exit_code=2)
    if review_by <= now:
        raise CommandError("--review-by must be in the future", code="usage", exit_code=2)
    with services.db.session() as session:
        if session.get(Customer, customer_id) is None:
            raise NotFound(f"no customer with id {customer_id}")
        hold = LegalHold(
            customer_id=customer_id,
            subject_ref=services.keys.pseudonym(customer_id),
            case_ref=case_ref.strip(),
            scope=categories,
            review_by=review_by,
            placed_at=now,
        )
        session.add(hold)
        session.flush()
        record(
            session,
            actor="operator",
            action="hold.placed",
            subject_ref=hold.subject_ref,
            details={"hold_id": hold.id, "case_ref": hold.case_ref, "scope": categories or ["all"]},
        )
        return hold.id


def release(services: Services, hold_id: str, *, now: datetime | None = None) -> Released:
    """Release a hold and complete the erasures of that customer that waited on it."""

    now = now or utcnow()
    with services.db.session() as session:
        hold = session.get(LegalHold, hold_id)
        if hold is None:
            raise NotFound(f"no legal hold with id {hold_id}")
        if hold.released_at is not None:
            raise CommandError(f"hold {hold_id} was already released", code="already_released")
        hold.released_at = now
        record(
            session,
            actor="operator",
            action="hold.released",
            subject_ref=hold.subject_ref,
            details={"hold_id": hold.id, "case_ref": hold.case_ref},
        )
        customer_id = hold.customer_id
        requests: Iterable[PrivacyRequest] = (
            []
            if customer_id is None
            else session.scalars(
                select(PrivacyRequest).where(
                    PrivacyRequest.customer_id == customer_id,
                    PrivacyRequest.type == "erasure",
                    PrivacyRequest.status == "on_hold",
                )
            )
        )
        waiting = []
        for request in requests:
            if request.on_hold_since is not None:  # the policy's 14 days do not run under a hold
                request.held_seconds += int((now - request.on_hold_since).total_seconds())
                request.on_hold_since = None
            waiting.append(request.id)
    outcome: dict[str, str] = {}
    for request_id in waiting:
        # run_erasure claims the request itself; claiming it here too would be refused on
        # PostgreSQL (advisory locks belong to a session) and the erasure would not run.
        outcome[request_id] = try_erasure(services, request_id, now)
    return Released(hold_id, outcome)
