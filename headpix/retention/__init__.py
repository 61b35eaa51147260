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
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from headpix.drafts import sweep_drafts
from headpix.outbox_batches import dispatch_due
from headpix.reminders import remind_expiring_galleries
from headpix.residue_audit import audit_erased_residue, vacuum_after_erasures
from headpix.retention.common import BATCH, describe_failure
from headpix.retention.erasures import overdue_erasures, run_due_erasures
from headpix.retention.inactivity import erase_inactive_customers, warn_inactive_customers
from headpix.retention.objects import expire_headshots, expire_identity_models, purge_leftover_originals
from headpix.retention.rows import (
    delete_expired_exports,
    delete_expired_links,
    delete_sent_mail_bodies,
    expire_unconfirmed_requests,
)
from headpix.services import Services
from headpix.signups import forget_unproven_signups

__all__ = [
    "BATCH",
    "CATEGORIES",
    "SweepResult",
    "count_rows",
    "delete_expired_exports",
    "delete_expired_links",
    "delete_sent_mail_bodies",
    "describe_failure",
    "erase_inactive_customers",
    "expire_headshots",
    "expire_identity_models",
    "expire_unconfirmed_requests",
    "overdue_erasures",
    "purge_leftover_originals",
    "run_due_erasures",
    "sweep",
    "warn_inactive_customers",
]

log = logging.getLogger(__name__)


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
