"""Erasure: a persisted, resumable sequence of idempotent phases, ending in a signed receipt.

    fence → stop → delete_rows → delete_objects → shred → verify → sign → notify

The request records the last phase done; a retry (Prefect's, the sweep's, an operator's)
re-enters after it and never skips one. Verification is bounded (key, rows, objects, fence)
and mandatory: a failure moves the request to ``needs_attention`` and sends it back before
``delete_rows``, so the next attempt deletes and verifies again. Only a verification that
ran and passed is ever signed. Categories under a legal hold are kept; the request waits
``on_hold`` and the hold's release (or the sweep) finishes it.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import select

from headpix import personal, stages
from headpix.errors import HeadpixError
from headpix.privacy import receipts
from headpix.privacy.erasure_phases import (
    STOP_WAIT_SECONDS,
    Work,
    done,
    mark,
    notify,
    object_shoot_ids,
    sign,
    verify,
)
from headpix.privacy.erasure_scope import delete_rows, object_prefixes, parse_scope
from headpix.privacy.hold_rules import active_holds, held_categories
from headpix.privacy.requests import R, load_request, move
from headpix.privacy.verify import HashedNeedles, rows_by_pseudonym, token_hashes
from headpix.services import Services
from headpix.shoots import ACTIVE, S
from schemas.models import Customer, OriginalPhoto, Photoshoot, utcnow
from schemas.privacy import PrivacyRequest

log = logging.getLogger(__name__)


def handle_erasure(services: Services, request_id: str, now: datetime) -> None:
    """A confirmed erasure runs as the `erasure` flow (parameter: the request id), via the launcher.

    The fence goes up at once, before the run is even created: from the confirmation on, no
    shoot of the customer writes an object or sends a gallery email.
    """
    with services.db.session() as session:
        request = load_request(session, request_id)
        customer_id, everything = request.customer_id, parse_scope(request.scope).everything
    if customer_id and everything:
        services.fences.raise_fence(customer_id)
    services.launcher.start_erasure(request_id, as_of=now)


def run_erasure(services: Services, request_id: str, *, now: datetime | None = None) -> str:
    """Carry the request's erasure as far as it can go; return its resulting status.

    One runner at a time per request: the claim is taken here, once, and nowhere inside.
    """
    with services.db.claim(f"erasure:{request_id}") as mine:
        if not mine:
            log.info("erasure %s is being run elsewhere", request_id)
            with services.db.session() as session:
                return load_request(session, request_id).status
        return _erase(services, request_id, now or utcnow())


def try_erasure(services: Services, request_id: str, now: datetime) -> str:
    """Run one erasure for the sweep or a hold release: a failure is that request's own
    (``needs_attention``, in the compliance report), never its caller's."""
    try:
        return run_erasure(services, request_id, now=now)
    except Exception as error:
        reason = error.message if isinstance(error, HeadpixError) else type(error).__name__
        log.warning("erasure %s not finished: %s", request_id, reason)
        with services.db.session() as session:
            request = session.get(PrivacyRequest, request_id)
            return request.status if request is not None else "missing"


def _erase(services: Services, request_id: str, now: datetime) -> str:
    # Refuse before deleting anything: an erasure that cannot sign its receipt stays undone.
    receipts.load_private_key(services.settings)
    work = _begin(services, request_id, now)
    if work is None:
        with services.db.session() as session:
            return load_request(session, request_id).status
    if work.after("fence") and work.scope.everything:
        services.fences.raise_fence(work.customer_id)
        done(work, "fence")
    if work.after("stop"):
        work.counts["shoots_cancelled"] = _stop_running_shoots(services, work)
        done(work, "stop")
    held = _delete(services, work, now)
    if held:
        return _wait_for_hold(services, work, held, now)
    if work.after("shred"):
        if work.scope.everything:
            work.counts["data_keys"] = _shred(services, work)
        done(work, "shred")
    if work.after("verify"):
        checked = verify(services, work, now)
        done(work, "verify", checked=checked)
    if work.after("sign"):
        notify(services, sign(services, work, now))
    scrub_sqlite_wal(services)
    log.info("erasure %s completed", request_id)
    return R.completed.value


def _delete(services: Services, work: Work, now: datetime) -> set[str]:
    """delete_rows, delete_objects and shred; returns the categories kept under a legal hold.

    The holds are read in the transaction that deletes the rows; once they are known, the
    object store is emptied and (nothing held) the key store shredded alongside that
    transaction, since they are other services. A failure anywhere leaves the phases recorded
    so far, and a retry repeats the rest: each is idempotent.
    """
    within = work.scope.categories or _all_categories()
    rows, objects_left = work.after("delete_rows"), work.after("delete_objects")
    key_left = work.after("shred")
    with (
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="erase") as pool,
        services.db.session() as session,
    ):
        held = held_categories(active_holds(session, work.customer_id, now)) & within
        shoot_ids = _shoot_ids(session, work.customer_id)
        objects = pool.submit(_delete_objects, services, work, shoot_ids, held) if objects_left else None
        shredding = (
            pool.submit(_shred, services, work) if key_left and work.scope.everything and not held else None
        )
        if rows:
            work.counts.update(delete_rows(session, work.customer_id, work.scope, held, keys=services.keys))
            mark(session, work, "delete_rows")
        removed = objects.result() if objects else 0  # before the commit: a failure rolls rows back
    if objects is not None:
        work.counts["object_versions"] = work.counts.get("object_versions", 0) + removed
        done(work, "delete_objects")
    if shredding is not None:
        work.counts["data_keys"] = shredding.result()
        done(work, "shred")
    return held


def _delete_objects(services: Services, work: Work, shoot_ids: list[str], held: set[str]) -> int:
    shoot_ids = shoot_ids or object_shoot_ids(services, work.customer_id)  # rows gone on a resumed run
    return sum(
        services.raw_store.delete_prefix(prefix)
        for prefix in object_prefixes(work.customer_id, shoot_ids, work.scope, held)
    )


def _shred(services: Services, work: Work) -> int:
    """Destroy the customer's data key (an erasure of everything): every sealed copy goes dark."""
    return services.keys.destroy(work.customer_id)


def _all_categories() -> set[str]:
    from headpix.inventory import CATEGORIES

    return set(CATEGORIES)


def _begin(services: Services, request_id: str, now: datetime) -> Work | None:
    """Move the request to in_progress and pin its subject; None when there is nothing to do."""
    with services.db.session() as session:
        request = load_request(session, request_id)
        if request.status in (R.completed.value, R.cancelled.value, R.rejected.value):
            return None
        if request.status == R.on_hold.value and request.on_hold_since is not None:
            request.held_seconds += int((now - request.on_hold_since).total_seconds())
            request.on_hold_since = None
        if request.status != R.in_progress.value:
            move(session, request, R.in_progress, actor="system", phase=request.phase or "start")
        subject = request.erasure_subject or request.customer_id
        if subject is None:  # an unknown address: nothing held, nothing to sign
            request.completed_at = now
            move(session, request, R.completed, actor="system", deleted=0)
            return None
        request.erasure_subject = subject
        customer = session.get(Customer, subject)
        keys = services.keys
        reply_to = personal.reply_to_of(keys, request)
        if customer is not None and request.phase is None:
            # Kept for the final notice (sealed) until it is queued, so a retry still has it;
            # keyed hashes of the unique identifiers serve the later audit, never the values.
            address = personal.email_of(keys, customer)
            if reply_to is None:
                reply_to = address
                personal.set_reply_to(keys, request, reply_to)
            request.outcome = {
                **(request.outcome or {}),
                "needle_hashes": token_hashes(
                    services.keys.pseudonym_secret, _identifiers(session, customer, address)
                ),
            }
        return Work(
            request_id=request_id,
            customer_id=subject,
            scope=parse_scope(request.scope),
            phase=request.phase,
            reply_to=reply_to,
            counts=dict((request.outcome or {}).get("deleted", {})),
        )


def _identifiers(session: Any, customer: Customer, address: str) -> list[str]:
    """Unique identifiers that must not survive anywhere: id, email and photo hashes."""
    hashes = session.scalars(
        select(OriginalPhoto.sha256).join(Photoshoot).where(Photoshoot.customer_id == customer.id)
    )
    return [v for v in [customer.id, address, *hashes] if v]


def _shoot_ids(session: Any, customer_id: str) -> list[str]:
    return list(session.scalars(select(Photoshoot.id).where(Photoshoot.customer_id == customer_id)))


def _stop_running_shoots(services: Services, work: Work) -> int:
    """Stop the subject's running shoots in the database and their runs, then wait (bounded)."""
    with services.db.session() as session:
        query = select(Photoshoot.id).where(
            Photoshoot.customer_id == work.customer_id,
            Photoshoot.status.in_([s.value for s in ACTIVE | {S.paused}]),
        )
        if work.scope.kind == "shoot":
            query = query.where(Photoshoot.id == work.scope.shoot_id)
        running = list(session.scalars(query))
    for shoot_id in running:
        stages.stop(services, shoot_id, S.cancelled, "Cancelled: the customer asked for erasure.")
        services.launcher.cancel_shoot(shoot_id)
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while running and time.monotonic() < deadline:
        running = [s for s in running if services.launcher.is_running(s)]
        if running:
            time.sleep(0.5)
    if running:
        log.warning(
            "erasure %s: %d run(s) still stopping; the fence holds their writes",
            work.request_id,
            len(running),
        )
    return len(running)


def _wait_for_hold(services: Services, work: Work, held: set[str], now: datetime) -> str:
    with services.db.session() as session:
        request = mark(session, work)
        request.phase = "stop"  # the next run deletes what the hold kept, then goes on
        request.outcome = {**(request.outcome or {}), "partial": dict(work.counts), "held": sorted(held)}
        request.on_hold_since = now
        move(session, request, R.on_hold, actor="system", held=sorted(held))
    services.fences.lower(work.customer_id)  # held data stays readable and writable by no one new
    return R.on_hold.value


def scrub_sqlite_wal(services: Services) -> None:
    """Deleted rows must not linger in SQLite's write-ahead log (PostgreSQL: the sweep vacuums)."""
    if services.db.engine.dialect.name == "sqlite":
        with services.db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def verify_request(services: Services, request_id: str) -> dict[str, Any]:
    """After the fact: re-check rows, objects, key and keyed-hash tokens for a completed erasure."""
    with services.db.session() as session:
        request = load_request(session, request_id)
        kept = (request.outcome or {}).get("needle_hashes") or {}
        subject = request.subject_ref
    needles = HashedNeedles(
        services.keys.pseudonym_secret,
        set(kept.get("hashes", [])),
        [(int(length), int(at)) for length, at in kept.get("emails", [])],
    )
    return rows_by_pseudonym(services, subject, needles)
