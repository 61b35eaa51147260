"""The retention sweep: plain functions, one per category, each ``(services, now) -> count``.

Every function is idempotent and resumable: it selects what is due *now*, does each item in
its own short transaction and leaves the row no longer due. On PostgreSQL due rows are
locked with ``FOR UPDATE SKIP LOCKED`` (work that spans other sessions, like an erasure,
takes an advisory lock instead), so two sweeps running at once never do the same item twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from headpix import personal
from headpix.drafts import sweep_drafts
from headpix.outbox import dispatch_due, dispatch_pending, enqueue
from headpix.privacy.audit import record
from headpix.privacy.erasure import try_erasure
from headpix.privacy.hold_rules import active_holds, held_categories
from headpix.privacy.requests import OPEN, expire
from headpix.reminders import remind_expiring_galleries
from headpix.residue_audit import audit_erased_residue, vacuum_after_erasures
from headpix.services import Services
from headpix.signups import forget_unproven_signups
from headpix.storage import Keys
from schemas.models import (
    Customer,
    GalleryLink,
    Headshot,
    IdentityModel,
    OriginalPhoto,
    OutboxMessage,
    Photoshoot,
)
from schemas.privacy import PrivacyRequest, RetentionIncident, SignInToken

log = logging.getLogger(__name__)

BATCH = 200
POLICY_ERASURE_DAYS = 14  # privacy policy §4: deleted within 14 days of confirmation
ERASURE_DUE = ("confirmed", "in_progress", "needs_attention")


@dataclass
class SweepResult:
    """What one sweep did, per category (counts only), and the erasures overdue afterwards."""

    erasures: int = 0
    leftover_objects: int = 0
    headshots_expired: int = 0
    identity_models_expired: int = 0
    exports_deleted: int = 0
    requests_expired: int = 0
    links_deleted: int = 0
    mail_bodies_deleted: int = 0
    residue_incidents: int = 0
    tables_vacuumed: int = 0
    mail_retried: int = 0
    inactivity_warnings: int = 0
    inactivity_erasures: int = 0
    drafts_deleted: int = 0
    gallery_reminders: int = 0
    unproven_signups: int = 0
    overdue: int = 0
    failed: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def describe_failure(error: BaseException) -> str:
    """A failed category as operators see it: our own message, or only the error's type."""
    from headpix.errors import HeadpixError

    return error.message if isinstance(error, HeadpixError) else type(error).__name__


def _is_postgres(services: Services) -> bool:
    return services.db.engine.dialect.name == "postgresql"


def _held(session: Session, customer_id: str, now: datetime, category: str) -> bool:
    return category in held_categories(active_holds(session, customer_id, now))


def _incident(session: Session, now: datetime, category: str, shoot_id: str, count: int) -> None:
    session.add(RetentionIncident(found_at=now, category=category, shoot_id=shoot_id, object_count=count))
    log.warning("retention: shoot %s had %d %s object versions past their age", shoot_id, count, category)


# -- erasures -------------------------------------------------------------------------------------


def run_due_erasures(services: Services, now: datetime) -> int:
    """Carry out confirmed erasures not yet done (and on-hold ones whose holds are all gone)."""

    with services.db.session() as session:
        due = list(
            session.scalars(
                select(PrivacyRequest.id).where(
                    PrivacyRequest.type == "erasure",
                    PrivacyRequest.status.in_(ERASURE_DUE),
                    or_(PrivacyRequest.confirmed_at.is_(None), PrivacyRequest.confirmed_at <= now),
                )
            )
        )
        for request_id, customer_id in session.execute(
            select(PrivacyRequest.id, PrivacyRequest.customer_id).where(
                PrivacyRequest.type == "erasure", PrivacyRequest.status == "on_hold"
            )
        ):
            if customer_id is None or not active_holds(session, customer_id, now):
                due.append(request_id)
    done = 0
    for request_id in due:
        # run_erasure takes the request's claim itself: a second claim here, on another
        # connection, is refused by PostgreSQL and the erasure would silently not run.
        if try_erasure(services, request_id, now) in ("completed", "on_hold"):
            done += 1
    return done


# -- originals and crops: the safety net behind the photoshoot's own purge --------------------------


def purge_leftover_originals(services: Services, now: datetime) -> int:
    """Delete originals and crops past the age limit (paused shoots keep theirs); report each shoot."""
    cutoff = now - timedelta(hours=services.settings.originals_max_age_hours)
    still_stored = or_(OriginalPhoto.original_key.is_not(None), OriginalPhoto.crop_key.is_not(None))
    with services.db.session() as session:
        shoot_ids = list(
            session.scalars(
                select(OriginalPhoto.shoot_id)
                .join(Photoshoot, Photoshoot.id == OriginalPhoto.shoot_id)
                .where(still_stored, OriginalPhoto.uploaded_at < cutoff, Photoshoot.status != "paused")
                .distinct()
            )
        )
    removed = 0
    for shoot_id in shoot_ids:
        with services.db.session() as session:
            photos = list(
                session.scalars(
                    select(OriginalPhoto)
                    .where(OriginalPhoto.shoot_id == shoot_id, still_stored)
                    .where(OriginalPhoto.uploaded_at < cutoff)
                    .with_for_update(skip_locked=True)
                )
            )
            shoot = session.get(Photoshoot, shoot_id)
            if not photos or shoot is None or shoot.status == "paused":
                continue
            if _held(session, shoot.customer_id, now, "photos"):
                continue
            for kind in ("originals", "crops"):
                prefix = Keys.shoot(shoot.customer_id, shoot_id) + f"{kind}/"
                count = services.raw_store.delete_prefix(prefix)
                left = services.raw_store.version_count(prefix)
                if left:
                    raise RuntimeError(f"shoot {shoot_id}: {left} object versions left under {kind}/")
                if count:
                    _incident(session, now, kind, shoot_id, count)
                removed += count
            for photo in photos:
                photo.original_key = None
                photo.crop_key = None
                photo.purged_at = photo.purged_at or now
    return removed


# -- deliveries: headshots and identity models expire after delivery ---------------------------------


def _delivered_before(days: float, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (Photoshoot.status == "delivered", Photoshoot.delivered_at < now - timedelta(days=days))


def expire_headshots(services: Services, now: datetime) -> int:
    """Delete the headshots (and gallery links) of shoots delivered longer ago than the retention."""
    due_filter = _delivered_before(services.settings.headshot_retention_days, now)
    has_headshots = exists().where(Headshot.shoot_id == Photoshoot.id)
    with services.db.session() as session:
        shoot_ids = list(session.scalars(select(Photoshoot.id).where(*due_filter, has_headshots)))
    expired = 0
    for shoot_id in shoot_ids:
        with services.db.session() as session:
            shoot = session.scalar(
                select(Photoshoot)
                .where(Photoshoot.id == shoot_id, *due_filter, has_headshots)
                .with_for_update(skip_locked=True)
            )
            if shoot is None or _held(session, shoot.customer_id, now, "headshots"):
                continue
            prefix = Keys.shoot(shoot.customer_id, shoot_id) + "headshots/"
            services.raw_store.delete_prefix(prefix)
            if services.raw_store.version_count(prefix):
                raise RuntimeError(f"shoot {shoot_id}: headshot object versions left after expiry")
            result = session.execute(delete(Headshot).where(Headshot.shoot_id == shoot_id))
            session.execute(delete(GalleryLink).where(GalleryLink.shoot_id == shoot_id))
            expired += int(getattr(result, "rowcount", 0) or 0)
    return expired


def expire_identity_models(services: Services, now: datetime) -> int:
    """Delete identity models (weights and row) of shoots delivered longer ago than the retention."""
    due_filter = _delivered_before(services.settings.identity_model_retention_days, now)
    with services.db.session() as session:
        model_ids = list(
            session.scalars(
                select(IdentityModel.id)
                .join(Photoshoot, Photoshoot.id == IdentityModel.shoot_id)
                .where(*due_filter)
            )
        )
    expired = 0
    for model_id in model_ids:
        with services.db.session() as session:
            model = session.scalar(
                select(IdentityModel).where(IdentityModel.id == model_id).with_for_update(skip_locked=True)
            )
            shoot = session.get(Photoshoot, model.shoot_id) if model is not None else None
            if model is None or shoot is None or _held(session, shoot.customer_id, now, "identity_models"):
                continue
            prefix = Keys.shoot(shoot.customer_id, shoot.id) + "identity/"
            services.raw_store.delete_prefix(prefix)
            if services.raw_store.version_count(prefix):
                raise RuntimeError(f"shoot {shoot.id}: identity model versions left after expiry")
            session.delete(model)
            expired += 1
    return expired


# -- exports, unconfirmed requests, expired links, sent mail ------------------------------------------


def delete_expired_exports(services: Services, now: datetime) -> int:
    """Access and portability archives past their expiry (the export module does the deleting)."""
    from headpix.privacy.export import delete_expired_exports as delete_exports

    return delete_exports(services, now)


def _in_batches(
    services: Services, select_batch: Callable[[Session], list[Any]], act: Callable[[Session, Any], object]
) -> int:
    """Lock a batch of due rows (skipping rows another sweep holds), act on each, commit; repeat."""
    done = 0
    while True:
        with services.db.session() as session:
            rows = select_batch(session)
            for row in rows:
                outcome = act(session, row)
                # An act may report what it changed (a guarded UPDATE's rowcount): count that.
                done += int(outcome) if isinstance(outcome, bool | int) else 1
        if len(rows) < BATCH:
            return done


def expire_unconfirmed_requests(services: Services, now: datetime) -> int:
    """Requests whose confirmation token expired: the token goes, the request is cancelled."""
    query = (
        select(PrivacyRequest)
        .where(PrivacyRequest.status == "awaiting_confirmation", PrivacyRequest.token_expires_at < now)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    return _in_batches(services, lambda s: list(s.scalars(query)), lambda s, r: expire(s, r))


def delete_expired_links(services: Services, now: datetime) -> int:
    """Gallery links and sign-in tokens past their expiry (their hashes are no use to anyone)."""
    deleted = 0
    for table in (GalleryLink, SignInToken):
        query = select(table.id).where(table.expires_at < now).limit(BATCH).with_for_update(skip_locked=True)
        deleted += _in_batches(
            services,
            lambda s, q=query: list(s.scalars(q)),  # type: ignore[misc]
            lambda s, row_id, t=table: s.execute(delete(t).where(t.id == row_id)),  # type: ignore[misc]
        )
    return deleted


def delete_sent_mail_bodies(services: Services, now: datetime) -> int:
    """Once mail has left for the provider, our copy of its body and address goes."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_(("sent", "suppressed")), OutboxMessage.content_sealed.is_not(None))
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )

    def act(session: Session, row: OutboxMessage) -> int:
        # Guarded: a row another sweep already cleared is not counted twice.
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.content_sealed.is_not(None))
            .values(content_sealed=None, recipient_sealed=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    return _in_batches(services, lambda s: list(s.scalars(query)), act)


# -- inactive customers -----------------------------------------------------------------------------


def _inactive_since(services: Services, now: datetime) -> datetime:
    return now - timedelta(days=services.settings.inactivity_days)


def warn_inactive_customers(services: Services, now: datetime) -> int:
    """Tell customers inactive for the configured period that their data goes unless they return."""
    grace = services.settings.inactivity_grace_days
    query = (
        select(Customer)
        .where(
            Customer.last_active_at < _inactive_since(services, now),
            or_(
                Customer.inactivity_warned_at.is_(None),
                Customer.inactivity_warned_at < Customer.last_active_at,
            ),
        )
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    queued: list[str] = []

    def act(session: Session, customer: Customer) -> None:
        customer.inactivity_warned_at = now
        message = enqueue(
            session,
            services.keys,
            dedup_key=f"inactive:{customer.id}:{int(customer.last_active_at.timestamp())}",
            kind="inactivity_warning",
            customer_id=customer.id,
            to=personal.email_of(services.keys, customer),
            subject="Your Headpix account will be deleted",
            body=(
                f"Hello {personal.name_of(services.keys, customer)},\n\n"
                "You have not used Headpix for a long time. Unless you sign in "
                f"within {grace} days, we will delete your account and everything we hold about you.\n"
                "— Headpix"
            ),
        )
        queued.append(message.id)

    warned = _in_batches(services, lambda s: list(s.scalars(query)), act)
    dispatch_pending(services, queued)
    return warned


def erase_inactive_customers(services: Services, now: datetime) -> int:
    """Erase customers warned at least the grace period ago who did not come back."""

    warned_before = now - timedelta(days=services.settings.inactivity_grace_days)
    due = (
        Customer.last_active_at < _inactive_since(services, now),
        Customer.inactivity_warned_at.is_not(None),
        Customer.inactivity_warned_at >= Customer.last_active_at,
        Customer.inactivity_warned_at <= warned_before,
    )
    open_erasure = exists().where(
        PrivacyRequest.customer_id == Customer.id,
        PrivacyRequest.type == "erasure",
        PrivacyRequest.status.in_([s.value for s in OPEN]),
    )
    with services.db.session() as session:
        customer_ids = list(session.scalars(select(Customer.id).where(*due, ~open_erasure)))
    erased = 0
    for customer_id in customer_ids:
        with services.db.session() as session:
            customer = session.scalar(
                select(Customer)
                .where(Customer.id == customer_id, *due, ~open_erasure)
                .with_for_update(skip_locked=True)
            )
            if customer is None:
                continue
            request = PrivacyRequest(
                type="erasure",
                status="confirmed",
                customer_id=customer_id,
                subject_ref=services.keys.pseudonym(customer_id),
                confirmed_at=now,
                due_at=now + timedelta(days=services.settings.erasure_days),
                created_at=now,
            )
            session.add(request)
            session.flush()
            record(
                session,
                actor="retention",
                action="request.confirmed",
                subject_ref=request.subject_ref,
                request_id=request.id,
                details={"type": "erasure", "reason": "inactivity"},
            )
            request_id = request.id
        # The customer row is unlocked before erasing: the erasure deletes it in its own session.
        try_erasure(services, request_id, now)
        erased += 1
    return erased


# -- overdue and the whole sweep --------------------------------------------------------------------


def overdue_erasures(services: Services, now: datetime) -> int:
    """Erasures open longer than 14 days after confirmation, not counting time under a legal hold."""
    limit = timedelta(days=POLICY_ERASURE_DAYS).total_seconds()
    with services.db.session() as session:
        rows = session.execute(
            select(
                PrivacyRequest.status,
                PrivacyRequest.confirmed_at,
                PrivacyRequest.held_seconds,
                PrivacyRequest.on_hold_since,
            ).where(
                PrivacyRequest.type == "erasure",
                PrivacyRequest.status.in_(("confirmed", "in_progress", "on_hold")),
                PrivacyRequest.confirmed_at.is_not(None),
            )
        ).all()
    overdue = 0
    for status, confirmed_at, held_seconds, on_hold_since in rows:
        if confirmed_at is None:
            continue
        end: datetime = now
        if status == "on_hold":  # the clock stopped when the hold began
            end = on_hold_since or confirmed_at
        if (end - confirmed_at).total_seconds() - (held_seconds or 0) > limit:
            overdue += 1
    return overdue


CATEGORIES: tuple[tuple[str, Callable[[Services, datetime], int]], ...] = (
    ("requests_expired", expire_unconfirmed_requests),
    ("erasures", run_due_erasures),
    ("leftover_objects", purge_leftover_originals),
    ("headshots_expired", expire_headshots),
    ("identity_models_expired", expire_identity_models),
    ("exports_deleted", delete_expired_exports),
    ("links_deleted", delete_expired_links),
    ("inactivity_erasures", erase_inactive_customers),
    ("inactivity_warnings", warn_inactive_customers),
    ("mail_retried", dispatch_due),
    ("drafts_deleted", sweep_drafts),
    ("gallery_reminders", remind_expiring_galleries),
    ("unproven_signups", forget_unproven_signups),
    ("mail_bodies_deleted", delete_sent_mail_bodies),
    ("residue_incidents", audit_erased_residue),
    ("tables_vacuumed", vacuum_after_erasures),
)


def sweep(
    services: Services,
    now: datetime,
    categories: tuple[tuple[str, Callable[[Services, datetime], int]], ...] | None = None,
) -> SweepResult:
    """Run every category as of ``now``; safe to re-run and to run twice at once.

    Each category runs on its own: one that fails is reported (by name and error type, never
    a value) and the others still run.
    """
    result = SweepResult()
    for name, function in categories or CATEGORIES:
        try:
            setattr(result, name, function(services, now))
        except Exception as error:
            log.exception("retention sweep: %s failed", name)
            result.failed[name] = describe_failure(error)
    result.overdue = overdue_erasures(services, now)
    log.info("retention sweep as of %s: %s", now.isoformat(), result.to_json())
    return result


def count_rows(services: Services, table: type) -> int:
    with services.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)
