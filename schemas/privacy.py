"""Tables of the privacy engine and compliance: requests, audit, exports, holds, policies, keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from schemas.models import Base, UTCDateTime, new_id, utcnow


class PrivacyRequest(Base):
    """A data-subject request; ``customer_id`` is null for an address we do not know."""

    __tablename__ = "privacy_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), default="received", index=True)
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True, default=None
    )
    subject_ref: Mapped[str] = mapped_column(String(64))  # pseudonymous, keyed hash
    # Personal until done, sealed (headpix.sealed_columns): rectified values and the address
    # the final notice goes to.
    changes_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    reply_to_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    token_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    held_seconds: Mapped[int] = mapped_column(Integer, default=0)
    on_hold_since: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)  # counts only
    # An erasure's progress: the last phase done, its scope (None: everything), and whose data
    # it erases, held only until the receipt is signed so that a retry never loses its subject.
    phase: Mapped[str | None] = mapped_column(String(24), default=None)
    scope: Mapped[str | None] = mapped_column(String(80), default=None)
    erasure_subject: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """Append-only: privacy-relevant actions, naming subjects by pseudonymous id only."""

    __tablename__ = "audit_log"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    subject_ref: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    request_id: Mapped[str | None] = mapped_column(String(36), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DataExport(Base):
    """An access/portability archive in storage, deleted after its expiry."""

    __tablename__ = "data_exports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(String(36), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    key: Mapped[str] = mapped_column(String(400))
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInToken(Base):
    """A web session token (the one cookie the policy mentions); only its hash is stored."""

    __tablename__ = "sign_in_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Suppression(Base):
    """Marketing objection: a keyed hash of the address, never the address."""

    __tablename__ = "marketing_suppressions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    address_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Restriction(Base):
    """Restriction of processing in force for a customer until lifted."""

    __tablename__ = "restrictions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    request_id: Mapped[str] = mapped_column(String(36))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(default=None)


class DeletionReceipt(Base):
    """Signed proof of a completed erasure; holds no personal data and is kept."""

    __tablename__ = "deletion_receipts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    subject_ref: Mapped[str] = mapped_column(String(64))
    receipt: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LegalHold(Base):
    __tablename__ = "legal_holds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True, default=None
    )
    subject_ref: Mapped[str] = mapped_column(String(64), index=True)
    case_ref: Mapped[str] = mapped_column(String(120))
    scope: Mapped[list[Any]] = mapped_column(default=list)  # inventory categories; [] = all
    review_by: Mapped[datetime] = mapped_column()
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(default=None)


class PolicyVersion(Base):
    __tablename__ = "policy_versions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    published_at: Mapped[datetime] = mapped_column()
    effective_at: Mapped[datetime] = mapped_column()
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))


class Consent(Base):
    """Which policy version a customer accepted (or withdrew from), when, through which channel."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("customer_id", "policy_version", "action"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    policy_version: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))  # accepted | withdrawn
    channel: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class RetentionIncident(Base):
    """Something the sweep found that the normal path should have removed (no personal data)."""

    __tablename__ = "retention_incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    found_at: Mapped[datetime] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(String(40))
    shoot_id: Mapped[str | None] = mapped_column(String(36), default=None)
    object_count: Mapped[int] = mapped_column(Integer, default=0)


class UsageEvent(Base):
    """Anonymous usage analytics: an event name and a count per hour, never a customer."""

    __tablename__ = "usage_events"
    __table_args__ = (UniqueConstraint("hour", "event"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    hour: Mapped[datetime] = mapped_column()
    event: Mapped[str] = mapped_column(String(60))
    count: Mapped[int] = mapped_column(Integer, default=0)


class KeysBase(DeclarativeBase):
    """The key store is its own database: backups of the main one never hold the keys."""

    type_annotation_map = {datetime: UTCDateTime}


class CustomerDataKey(KeysBase):
    __tablename__ = "customer_data_keys"

    customer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RequestKey(KeysBase):
    """The key of one request's contact fields when no customer key can hold them."""

    __tablename__ = "request_keys"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_privacy_requests_due", PrivacyRequest.status, PrivacyRequest.due_at)
