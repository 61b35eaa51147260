"""Privacy policy versions: publication with at least 14 days' notice, notices, consent withdrawal.

The policy promises to announce changes at least two weeks before they take effect and lets a
customer withdraw consent in that window; a withdrawal schedules their erasure to complete
before the new version applies.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from headpix import links, personal
from headpix.db_errors import Conflict
from headpix.errors import CommandError, NotFound
from headpix.outbox import enqueue
from headpix.outbox_batches import dispatch_pending
from headpix.privacy.audit import record
from headpix.privacy.requests import RequestType, submit
from headpix.services import Services
from schemas.models import Customer, OutboxMessage, utcnow
from schemas.privacy import Consent, PolicyVersion, PrivacyRequest

log = logging.getLogger(__name__)

MIN_NOTICE = timedelta(days=14)  # privacy policy §8: "at least two weeks before they come into effect"
NOTICE_BATCH = 500


class NoticeTooShort(CommandError):
    code = "notice_too_short"


@dataclass(frozen=True)
class Published:
    version: str
    published_at: str
    effective_at: str
    text_sha256: str
    created: bool

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Withdrawal:
    version: str
    request_id: str
    status: str
    due_at: str | None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def publish(
    services: Services, version: str, *, effective_at: datetime, text: str, now: datetime
) -> Published:
    """Record a policy version (re-publishing it is a no-op); refused with under 14 days' notice."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    with services.db.session() as session:
        existing = session.scalar(select(PolicyVersion).where(PolicyVersion.version == version))
        if existing is not None:
            if existing.text_sha256 != digest or existing.effective_at != effective_at:
                raise CommandError(
                    f"policy {version} is already published with another text or effective time; "
                    "publish the change as a new version",
                    code="version_exists",
                )
            row, created = existing, False
        else:
            if effective_at - now < MIN_NOTICE:
                earliest = (now + MIN_NOTICE).isoformat()
                days = (effective_at - now).total_seconds() / 86400
                raise NoticeTooShort(
                    f"policy {version} would take effect {days:.1f} days after publication; the policy "
                    f"promises customers at least 14 days' notice. Use --effective {earliest} or later."
                )
            row = PolicyVersion(
                version=version, published_at=now, effective_at=effective_at, text=text, text_sha256=digest
            )
            session.add(row)
            session.flush()
            record(session, actor="operator", action="policy.published", details={"version": version})
            created = True
        return Published(
            row.version, row.published_at.isoformat(), row.effective_at.isoformat(), digest, created
        )


def load_version(services: Services, version: str) -> PolicyVersion:
    with services.db.session() as session:
        row = session.scalar(select(PolicyVersion).where(PolicyVersion.version == version))
        if row is None:
            raise NotFound(f"no published policy version {version}; see `headpix policy publish`")
        session.expunge(row)
        return row


def notice_key(version: str, customer_id: str) -> str:
    return f"policy:{version}:{customer_id}"


def notice_body(name: str, policy: PolicyVersion, url: str) -> str:
    return "\n".join(
        [
            f"Hello {name},",
            "",
            f"We are updating our privacy policy. Version {policy.version} takes effect on "
            f"{policy.effective_at:%Y-%m-%d %H:%M} UTC.",
            "",
            policy.text,
            "",
            "Accept it, or if you do not agree withdraw your consent before then and we will",
            "delete everything we hold about you, on this page:",
            f"  {url}",
            "— Headpix",
        ]
    )


def send_notices(services: Services, version: str) -> int:
    """Queue and send one notice per customer for this version; re-running sends none again."""
    policy = load_version(services, version)
    prefix = f"policy:{version}:"
    while True:
        try:
            queued = _queue_batch(services, policy, prefix)
        except Conflict:  # another notice run queued the same customer first; go again
            continue
        if queued < NOTICE_BATCH:
            break
    with services.db.session() as session:
        pending = list(
            session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.dedup_key.like(prefix + "%"), OutboxMessage.status == "pending"
                )
            )
        )
    sent = dispatch_pending(services, pending)
    log.info("policy %s: %d notices sent", version, sent)
    return sent


def _queue_batch(services: Services, policy: PolicyVersion, prefix: str) -> int:
    with services.db.session() as session:
        noticed = exists().where(OutboxMessage.dedup_key == prefix + Customer.id)
        customers = session.scalars(select(Customer).where(~noticed).limit(NOTICE_BATCH)).all()
        keys = services.keys
        url = links.policy_notice_url(services.settings, policy.version)
        for customer in customers:
            enqueue(
                session,
                keys,
                dedup_key=notice_key(policy.version, customer.id),
                kind="policy_notice",
                customer_id=customer.id,
                ref_id=None,
                to=personal.email_of(keys, customer),
                subject=f"Our privacy policy changes on {policy.effective_at:%Y-%m-%d}",
                body=notice_body(personal.name_of(keys, customer), policy, url),
                category="transactional",  # a legal notice: the marketing suppression list does not apply
            )
        return len(customers)


def withdraw_consent(
    services: Services, email: str, version: str, *, now: datetime | None = None, channel: str = "cli"
) -> Withdrawal:
    """Record a withdrawal in the notice window and schedule the erasure before the version applies."""
    now = now or utcnow()
    policy = load_version(services, version)
    if not policy.published_at <= now < policy.effective_at:
        raise CommandError(
            f"consent to policy {version} can be withdrawn between its publication "
            f"({policy.published_at.isoformat()}) and its effective time ({policy.effective_at.isoformat()})",
            code="outside_window",
        )
    address = email.strip().lower()
    with services.db.session() as session:
        customer = personal.find_by_email(session, services.keys, address)
        if customer is not None:
            already = session.scalar(
                select(Consent).where(
                    Consent.customer_id == customer.id,
                    Consent.policy_version == version,
                    Consent.action == "withdrawn",
                )
            )
            if already is None:
                session.add(
                    Consent(
                        customer_id=customer.id,
                        policy_version=version,
                        action="withdrawn",
                        channel=channel,
                        at=now,
                    )
                )
    # The erasure goes through the usual confirmation; unknown addresses get the same answer.
    view = submit(services, RequestType.erasure, address, now=now)
    with services.db.session() as session:
        request = session.get(PrivacyRequest, view.request_id)
        assert request is not None
        if request.due_at is None or request.due_at > policy.effective_at:
            request.due_at = policy.effective_at
        return Withdrawal(version, request.id, request.status, request.due_at.isoformat())
