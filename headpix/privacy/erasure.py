"""Erasure: delete every row and object version of a customer, shred their key, verify, sign.

Deletion means DELETE. Categories under a legal hold are kept (with the rows they depend
on); everything else goes at once, the request waits `on_hold`, and releasing the hold
runs this again to finish. Completion requires a clean residue check and a signed receipt.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from headpix import personal
from headpix.errors import HeadpixError
from headpix.privacy import receipts
from headpix.privacy.audit import record
from headpix.privacy.crypto import KeyRing
from headpix.privacy.request_mail import send_request_notice
from headpix.privacy.requests import R, RequestType, handles, load_request, move
from headpix.privacy.verify import HashedNeedles, PlainNeedles, token_hashes, verify_customer_gone
from headpix.services import Services
from headpix.shoots import ACTIVE, S
from headpix.storage import Keys
from schemas.models import (
    Customer,
    GalleryLink,
    Headshot,
    IdentityModel,
    OriginalPhoto,
    OutboxMessage,
    Photoshoot,
    utcnow,
)
from schemas.privacy import (
    Consent,
    DataExport,
    DeletionReceipt,
    LegalHold,
    PrivacyRequest,
    Restriction,
    SignInToken,
    Suppression,
)

log = logging.getLogger(__name__)
OBJECT_CATEGORIES = {"photos", "identity_models", "headshots", "exports"}
SHOOT_PREFIXES = {
    "photos": ("originals/", "crops/"),
    "identity_models": ("identity/",),
    "headshots": ("headshots/",),
}


class ResidueFound(HeadpixError):
    code = "residue_found"


def _held(session: Session, customer_id: str, now: datetime) -> set[str]:
    from headpix.privacy.holds import active_holds, held_categories

    return held_categories(active_holds(session, customer_id, now))


def shared_identifiers(keys: KeyRing, customer: Customer) -> list[str]:
    """Name and preference values: personal, but other customers may have the same ones."""
    preferences = personal.preferences_of(keys, customer)
    return [personal.name_of(keys, customer)] + [str(v) for v in preferences.values() if isinstance(v, str)]


def identifiers(session: Session, keys: KeyRing, customer: Customer) -> list[str]:
    """Unique identifiers that must not survive anywhere: id, email and photo hashes."""
    values = [customer.id, personal.email_of(keys, customer)]
    values += list(
        session.scalars(
            select(OriginalPhoto.sha256).join(Photoshoot).where(Photoshoot.customer_id == customer.id)
        )
    )
    return [v for v in values if v]


def _count(session: Session, statement: Any) -> int:
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


def delete_rows(session: Session, customer_id: str, held: set[str]) -> dict[str, int]:
    """DELETE the customer's rows, children first, keeping held categories and their parents."""
    shoots = select(Photoshoot.id).where(Photoshoot.customer_id == customer_id).scalar_subquery()
    counts: dict[str, int] = {}

    def run(name: str, category: str, statement: Any) -> None:
        if category not in held:
            counts[name] = counts.get(name, 0) + _count(session, statement)

    run("outbox", "mail", delete(OutboxMessage).where(OutboxMessage.customer_id == customer_id))
    run("sign_in_tokens", "sessions", delete(SignInToken).where(SignInToken.customer_id == customer_id))
    run("data_exports", "exports", delete(DataExport).where(DataExport.customer_id == customer_id))
    run("suppressions", "marketing", delete(Suppression).where(Suppression.customer_id == customer_id))
    run("consents", "consents", delete(Consent).where(Consent.customer_id == customer_id))
    run("restrictions", "requests", delete(Restriction).where(Restriction.customer_id == customer_id))
    run("gallery_links", "headshots", delete(GalleryLink).where(GalleryLink.shoot_id.in_(shoots)))
    run("headshots", "headshots", delete(Headshot).where(Headshot.shoot_id.in_(shoots)))
    run("identity_models", "identity_models", delete(IdentityModel).where(IdentityModel.shoot_id.in_(shoots)))
    run("original_photos", "photos", delete(OriginalPhoto).where(OriginalPhoto.shoot_id.in_(shoots)))
    if not held & {"photos", "identity_models", "headshots"}:
        counts["photoshoots"] = _count(
            session, delete(Photoshoot).where(Photoshoot.customer_id == customer_id)
        )
    if not held:
        counts["legal_holds"] = _count(
            session, update(LegalHold).where(LegalHold.customer_id == customer_id).values(customer_id=None)
        )
        counts["privacy_requests"] = _count(
            session,
            update(PrivacyRequest)
            .where(PrivacyRequest.customer_id == customer_id)
            .values(customer_id=None, changes_sealed=None, reply_to_sealed=None, token_hash=None),
        )
        counts["customers"] = _count(session, delete(Customer).where(Customer.id == customer_id))
    return counts


def delete_objects(services: Services, customer_id: str, shoot_ids: list[str], held: set[str]) -> int:
    """Delete every version of the customer's objects outside the held categories."""
    store = services.raw_store
    if not held & OBJECT_CATEGORIES:
        return store.delete_prefix(Keys.customer(customer_id))
    removed = 0
    for category, prefixes in SHOOT_PREFIXES.items():
        if category in held:
            continue
        for shoot_id in shoot_ids:
            for prefix in prefixes:
                removed += store.delete_prefix(Keys.shoot(customer_id, shoot_id) + prefix)
    if "exports" not in held:
        removed += store.delete_prefix(Keys.customer(customer_id) + "exports/")
    return removed


def cancel_running_shoots(services: Services, customer_id: str) -> int:
    from headpix import stages

    with services.db.session() as session:
        running = list(
            session.scalars(
                select(Photoshoot.id).where(
                    Photoshoot.customer_id == customer_id,
                    Photoshoot.status.in_([s.value for s in ACTIVE | {S.paused}]),
                )
            )
        )
    for shoot_id in running:
        stages.stop(services, shoot_id, S.cancelled, "Cancelled: the customer asked for erasure.")
    return len(running)


def scrub_database_files(services: Services) -> None:
    """Deleted rows must not survive in free pages or the write-ahead log."""
    engine = services.db.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("customers", "outbox", "original_photos", "headshots", "privacy_requests"):
                conn.exec_driver_sql(f"VACUUM {table}")


@handles(RequestType.erasure)
def handle_erasure(services: Services, request_id: str, now: datetime) -> None:
    """A confirmed erasure runs as the `erasure` flow (parameter: the request id), via the launcher."""
    services.launcher.start_erasure(request_id, as_of=now)


def run_erasure(services: Services, request_id: str, *, now: datetime | None = None) -> str:
    """Erase the request's subject (honouring holds); return the request's resulting status.

    One erasure at a time per request: a sweep and a confirmation never run it twice at once.
    """
    from headpix.retention import claim

    with claim(services, f"erasure:{request_id}") as got:
        if not got:
            with services.db.session() as session:
                return load_request(session, request_id).status
        return _erase(services, request_id, now or utcnow())


def _erase(services: Services, request_id: str, now: datetime) -> str:
    # Refuse before deleting anything: an erasure that cannot sign its receipt stays undone.
    receipts.load_private_key(services.settings)
    with services.db.session() as session:
        request = load_request(session, request_id)
        if request.status == R.completed.value:
            return request.status
        if request.status in (R.confirmed.value, R.on_hold.value):
            if request.on_hold_since is not None:
                request.held_seconds += int((now - request.on_hold_since).total_seconds())
                request.on_hold_since = None
            move(session, request, R.in_progress, actor="system")
        customer_id = request.customer_id
        customer = session.get(Customer, customer_id) if customer_id else None
        if customer is None:
            return _complete(
                services, request_id, now, needles=[], weak=[], counts={}, customer_id=None, reply_to=None
            )
        customer_id = customer.id
        # The address for the final notice is held in memory only from here on.
        reply_to = personal.reply_to_of(services.keys, request) or personal.email_of(services.keys, customer)
        request.reply_to_sealed = None
        needles = identifiers(session, services.keys, customer)
        weak = shared_identifiers(services.keys, customer)
        request.outcome = {
            **(request.outcome or {}),
            "needle_hashes": token_hashes(services.keys.pseudonym_secret, needles),
        }
    cancelled = cancel_running_shoots(services, customer_id)
    with services.db.session() as session:
        held = _held(session, customer_id, now)
        shoot_ids = list(session.scalars(select(Photoshoot.id).where(Photoshoot.customer_id == customer_id)))
    objects = delete_objects(services, customer_id, shoot_ids, held)
    with services.db.session() as session:
        counts = delete_rows(session, customer_id, held)
        counts["object_versions"] = objects
        counts["shoots_cancelled"] = cancelled
        request = load_request(session, request_id)
        if held:
            # kept (sealed) for the final notice once the hold is released
            personal.set_reply_to(services.keys, request, reply_to)
            request.outcome = {**request.outcome, "partial": counts, "held": sorted(held)}
            request.on_hold_since = now
            move(session, request, R.on_hold, actor="system", held=sorted(held))
            return R.on_hold.value
    counts["data_keys"] = services.keys.destroy(customer_id)
    scrub_database_files(services)
    return _complete(
        services,
        request_id,
        now,
        needles=needles,
        weak=weak,
        counts=counts,
        customer_id=customer_id,
        reply_to=reply_to,
    )


def _complete(
    services: Services,
    request_id: str,
    now: datetime,
    *,
    needles: list[str],
    weak: list[str],
    counts: dict[str, int],
    customer_id: str | None,
    reply_to: str | None,
) -> str:
    residue = (
        verify_customer_gone(services, customer_id, PlainNeedles(needles), PlainNeedles(weak))
        if customer_id
        else None
    )
    if residue is not None and not residue.clean:
        with services.db.session() as session:
            record(
                session,
                actor="system",
                action="erasure.residue",
                request_id=request_id,
                details={"found": len(residue.plaintext) + len(residue.rows)},
            )
        raise ResidueFound(f"erasure {request_id}: residue found: {residue.to_json()}")
    with services.db.session() as session:
        request = load_request(session, request_id)
        prior = (request.outcome or {}).get("partial", {})
        totals = {k: counts.get(k, 0) + prior.get(k, 0) for k in set(counts) | set(prior)}
        body = {
            "request_id": request_id,
            "subject": request.subject_ref,
            "stores": ["database", "object storage (all versions)", "key store", "outbox"],
            "deleted": totals,
            "verification": {
                "clean": True,
                "checked": residue.checked if residue else [],
                "at": now.isoformat(),
            },
            "completed_at": now.isoformat(),
        }
        signed = receipts.sign(services.settings, body)
        session.add(DeletionReceipt(request_id=request_id, subject_ref=request.subject_ref, receipt=signed))
        request.completed_at = now
        request.outcome = {"deleted": totals, "needle_hashes": request.outcome.get("needle_hashes", {})}
        move(session, request, R.completed, actor="system", deleted=sum(totals.values()))
    if reply_to:
        # Sealed under the request's own key; row and key go once the provider has it.
        send_request_notice(
            services,
            request_id=request_id,
            dedup_key=f"erased:{request_id}",
            kind="erasure_done",
            to=reply_to,
            subject="Your data has been deleted",
            body=(
                "Hello,\n\nAs you asked, we have deleted the personal data we held about you.\n"
                f"Request {request_id}; receipt kept without any personal data.\n— Headpix"
            ),
        )
    scrub_database_files(services)
    log.info("erasure %s completed", request_id)
    return R.completed.value


def verify_request(services: Services, request_id: str) -> dict[str, Any]:
    """After the fact: re-check rows, objects, key and keyed-hash tokens for a completed erasure."""
    from headpix.privacy.verify import rows_by_pseudonym

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
