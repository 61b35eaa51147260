"""The later phases of an erasure (verify, sign, notify) and the record of each phase done.

Verification is bounded (key, rows, objects, fence) and mandatory: a failure moves the request
to ``needs_attention`` and back before ``delete_rows``, so the next attempt deletes and
verifies again. Only a verification that ran and passed is ever signed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from headpix.errors import HeadpixError
from headpix.outbox import dispatch
from headpix.privacy import receipts
from headpix.privacy.audit import record
from headpix.privacy.erasure_scope import Scope, object_prefixes, rows_left
from headpix.privacy.request_mail import queue_request_notice
from headpix.privacy.requests import R, load_request, move
from headpix.privacy.verify import rows_referring
from headpix.services import Services
from headpix.storage import Keys
from schemas.privacy import DeletionReceipt, PrivacyRequest

PHASES = ("fence", "stop", "delete_rows", "delete_objects", "shred", "verify", "sign", "notify")
STOP_WAIT_SECONDS = 60.0
RECEIPT_COVERS = (
    "The customer's data key was destroyed, so every copy of their sealed objects and sealed "
    "database values, backups included, is unreadable; no database row carries their id; no "
    "object version or delete marker is left under their storage prefix; no write was let "
    "through the erasure's fence. Raw stores are audited for residue by the retention sweep."
)


class ResidueFound(HeadpixError):
    code = "residue_found"


@dataclass
class Work:
    request_id: str
    customer_id: str
    scope: Scope
    phase: str | None
    reply_to: str | None
    counts: dict[str, int] = field(default_factory=dict)
    unrecorded: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def after(self, phase: str) -> bool:
        """Whether ``phase`` still has to run (it comes after the last phase done)."""
        done = PHASES.index(self.phase) if self.phase in PHASES else -1
        return PHASES.index(phase) > done


def done(work: Work, phase: str, **details: Any) -> None:
    """A finished phase whose work lies outside the database (an object, a key, a check): it is
    recorded by the next transaction that records one (``mark``). Every phase is idempotent, so a
    crash in between only repeats it on retry; it never skips one."""
    work.unrecorded.append((phase, details))
    work.phase = phase


def mark(session: Session, work: Work, phase: str | None = None, **details: Any) -> PrivacyRequest:
    """Record the phases done so far, and ``phase`` inside the transaction that did its work:
    both happen, or neither. Each phase gets its audit event. Returns the request row."""
    if phase is not None:
        done(work, phase, **details)
    request = load_request(session, work.request_id)
    outcome = {**(request.outcome or {}), "deleted": dict(work.counts)}
    for name, extra in work.unrecorded:
        outcome.update(extra)
        record(session, actor="system", action=f"erasure.{name}", request_id=work.request_id)
    work.unrecorded.clear()
    request.phase = work.phase
    request.outcome = outcome
    return request


def verify(services: Services, work: Work, now: datetime) -> list[str]:
    """Bounded checks; on failure the request waits for operators and goes back to delete."""
    problems: list[str] = []
    # The object store is listed while the databases are checked: different services, overlapped.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify") as pool:
        versions = pool.submit(_versions_left, services, work)
        if work.scope.everything:
            problems += [f"row:{name}" for name in rows_referring(services, work.customer_id, skip=set())]
        else:
            with services.db.session() as session:
                left = rows_left(session, work.customer_id, work.scope, keys=services.keys)
            problems += [f"row:{name}" for name in left]
        if work.scope.everything and services.keys.has_key(work.customer_id):
            problems.append("data_key")
        if count := versions.result():
            problems.append(f"object_versions:{count}")
    checked = (
        ["data key", "rows", "object versions", "fence"]
        if work.scope.everything
        else ["rows", "object versions"]
    )
    if problems:
        with services.db.session() as session:
            request = mark(session, work)
            request.phase = "stop"  # a retry deletes again, then verifies again: no phase skipped
            request.outcome = {**(request.outcome or {}), "attention": problems}
            move(session, request, R.needs_attention, actor="system", found=len(problems))
            record(
                session,
                actor="system",
                action="erasure.residue",
                request_id=work.request_id,
                details={"found": problems},
            )
        raise ResidueFound(f"erasure {work.request_id}: verification failed ({', '.join(problems)})")
    return checked


def _versions_left(services: Services, work: Work) -> int:
    shoot_ids = [work.scope.shoot_id] if work.scope.kind == "shoot" and work.scope.shoot_id else []
    prefixes = (
        [Keys.customer(work.customer_id)]
        if work.scope.everything
        else object_prefixes(
            work.customer_id, shoot_ids or object_shoot_ids(services, work.customer_id), work.scope, set()
        )
    )
    return sum(services.raw_store.version_count(prefix) for prefix in prefixes)


def sign(services: Services, work: Work, now: datetime) -> str | None:
    """One transaction: the receipt of the verification that passed, ``completed``, and the final
    notice queued in the outbox (transactional outbox: both happen, or neither). Returns the
    notice's outbox id, which ``notify`` hands to the provider at once; should that fail, the
    outbox's own dispatch sends it later. The notice's address leaves the request here.

    The fence (its prefix verified empty) is lowered meanwhile, and must be down before the
    transaction commits: a request is never ``completed`` with its fence still up. Should the
    process die in between, the request is still ``in_progress`` and its retry verifies again."""
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="fence") as pool,
        services.db.session() as session,
    ):
        lowered = pool.submit(services.fences.lower, work.customer_id) if work.scope.everything else None
        request = mark(session, work, "sign")
        body = {
            "request_id": work.request_id,
            "subject": request.subject_ref,
            "scope": work.scope.text or "all personal data",
            "stores": ["database", "object storage (all versions)", "key store", "outbox"],
            "deleted": dict(work.counts),
            "verification": {
                "clean": True,
                "checked": list((request.outcome or {}).get("checked", [])),
                "at": now.isoformat(),
                "covers": RECEIPT_COVERS if work.scope.everything else "the rows and objects of the scope",
            },
            "completed_at": now.isoformat(),
        }
        if (
            session.scalar(select(DeletionReceipt).where(DeletionReceipt.request_id == work.request_id))
            is None
        ):
            signed = receipts.sign(services.settings, body)
            session.add(
                DeletionReceipt(request_id=work.request_id, subject_ref=request.subject_ref, receipt=signed)
            )
        notice = _queue_notice(session, services, work)
        request.reply_to_sealed = None
        mark(session, work, "notify")
        request.completed_at = now
        request.erasure_subject = None
        request.outcome = {
            "deleted": dict(work.counts),
            "needle_hashes": (request.outcome or {}).get("needle_hashes", {}),
        }
        move(session, request, R.completed, actor="system", deleted=sum(work.counts.values()))
        if lowered is not None:
            lowered.result()  # raises (and rolls back) when the fence could not be lowered
    return notice


def _queue_notice(session: Session, services: Services, work: Work) -> str | None:
    reply_to = work.reply_to  # opened from the request when this run began
    if not reply_to:
        return None
    return queue_request_notice(
        session,
        services,
        request_id=work.request_id,
        dedup_key=f"erased:{work.request_id}",
        kind="erasure_done",
        to=reply_to,
        subject="Your data has been deleted",
        body=(
            "Hello,\n\nAs you asked, we have deleted the personal data we held about you"
            + ("" if work.scope.everything else f" ({work.scope.text})")
            + f".\nRequest {work.request_id}; receipt kept without any personal data.\n— Headpix"
        ),
    )


def notify(services: Services, notice: str | None) -> None:
    """Hand the queued final notice to the provider now; the outbox deletes its row and the
    request's key once the provider has it (a refusal stays queued, and is retried)."""
    if notice is not None:
        dispatch(services, notice)


def object_shoot_ids(services: Services, customer_id: str) -> list[str]:
    """Shoots known by their storage prefix (their rows may be gone on a resumed erasure)."""
    base = Keys.customer(customer_id) + "shoots/"
    return sorted({key[len(base) :].split("/", 1)[0] for key in services.raw_store.list(base)})
