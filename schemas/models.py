"""SQLAlchemy models: the state of Headpix. Bytes live in object storage, addressed by keys of ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Customer(Base):
    """Name, email and preferences are sealed under the customer's data key (read and write them
    through ``headpix.personal``); ``email_index`` is a keyed blind index for lookup by address."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("email_index", name="uq_customers_email_index"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    email_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    email_index: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str] = mapped_column(String(16))
    preferences_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    policy_version: Mapped[str] = mapped_column(String(32))
    consented_at: Mapped[datetime] = mapped_column(default=utcnow)
    consent_channel: Mapped[str] = mapped_column(String(16), default="web")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    inactivity_warned_at: Mapped[datetime | None] = mapped_column(default=None)

    shoots: Mapped[list[Photoshoot]] = relationship(back_populates="customer")


class Photoshoot(Base):
    __tablename__ = "photoshoots"
    __table_args__ = (Index("ix_photoshoots_status_delivered", "status", "delivered_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    # Customer-readable; names photos by their file name, never by content.
    status_detail: Mapped[str] = mapped_column(Text, default="")
    styles: Mapped[list[Any]] = mapped_column(default=list)
    images_per_style: Mapped[int] = mapped_column(Integer, default=4)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    stage_seconds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Seconds spent inside the GPU workers (train, generate): the work the flow orchestrates.
    compute_seconds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    flow_run_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # Each start or resume is a new attempt: a new run, under its own idempotency key.
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paused_from: Mapped[str | None] = mapped_column(String(16), default=None)
    # Training progress and the liveness the watchdog judges by (set by tasks while they work).
    progress_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    # Which Ray node ran which stage, as node ids (operators see it in the shoot's artifact).
    placement: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    # Median likeness (0-1) of the shoot's headshots to its reference face; None: not scored.
    likeness_median: Mapped[float | None] = mapped_column(Float, default=None)

    customer: Mapped[Customer] = relationship(back_populates="shoots")
    photos: Mapped[list[OriginalPhoto]] = relationship(
        back_populates="shoot", order_by="OriginalPhoto.ordinal"
    )
    headshots: Mapped[list[Headshot]] = relationship(back_populates="shoot", order_by="Headshot.ordinal")


class OriginalPhoto(Base):
    """One uploaded photo: its verdict, and the keys of the original and its sanitised crop."""

    __tablename__ = "original_photos"
    # The sweep's safety net looks only at photos whose bytes are still stored.
    __table_args__ = (
        Index(
            "ix_original_photos_stored",
            "uploaded_at",
            postgresql_where=text("original_key IS NOT NULL OR crop_key IS NOT NULL"),
            sqlite_where=text("original_key IS NOT NULL OR crop_key IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    shoot_id: Mapped[str] = mapped_column(ForeignKey("photoshoots.id"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    filename_sealed: Mapped[bytes] = mapped_column(LargeBinary)  # headpix.personal
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    original_key: Mapped[str | None] = mapped_column(String(400), default=None)
    crop_key: Mapped[str | None] = mapped_column(String(400), default=None)
    verdict: Mapped[str] = mapped_column(String(16), default="pending")  # pending|accepted|rejected
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    face_box: Mapped[list[Any] | None] = mapped_column(default=None)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(default=None)

    shoot: Mapped[Photoshoot] = relationship(back_populates="photos")


class IdentityModel(Base):
    """The customer's LoRA, trained once per shoot."""

    __tablename__ = "identity_models"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    shoot_id: Mapped[str] = mapped_column(ForeignKey("photoshoots.id"), unique=True)
    weights_key: Mapped[str] = mapped_column(String(400))
    base_model: Mapped[str] = mapped_column(String(400))
    steps: Mapped[int] = mapped_column(Integer)
    first_loss: Mapped[float] = mapped_column(Float)
    final_loss: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Headshot(Base):
    __tablename__ = "headshots"
    __table_args__ = (UniqueConstraint("shoot_id", "ordinal"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    shoot_id: Mapped[str] = mapped_column(ForeignKey("photoshoots.id"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    style: Mapped[str] = mapped_column(String(40))
    # Prompts carry preference values: sealed under the customer's key (headpix.personal).
    prompt_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    negative_prompt_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    seed: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(400))
    rendered_at: Mapped[datetime | None] = mapped_column(default=None)
    # Likeness (0-1) of the headshot's face to the shoot's reference face; None: not scored.
    likeness: Mapped[float | None] = mapped_column(Float, default=None)

    shoot: Mapped[Photoshoot] = relationship(back_populates="headshots")


class GalleryLink(Base):
    """An unguessable, expiring link to a shoot's gallery; only the token's hash is stored."""

    __tablename__ = "gallery_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    shoot_id: Mapped[str] = mapped_column(ForeignKey("photoshoots.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """Transactional outbox: a row is written with the state change; a dispatcher hands it over.

    The recipient and the content are sealed (under the customer's data key, or the request's
    key when there is no customer); a link's token is minted when the mail is sent (its kind
    and ``ref_id`` say which), so no token is ever stored.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedup_key"),
        Index("ix_outbox_pending", "status", "created_at"),
        Index(
            "ix_outbox_with_body",
            "sent_at",
            postgresql_where=text("content_sealed IS NOT NULL"),
            sqlite_where=text("content_sealed IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    dedup_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # delivery | shoot_failed | …
    category: Mapped[str] = mapped_column(String(16), default="transactional")
    customer_id: Mapped[str | None] = mapped_column(String(36), index=True, default=None)
    request_id: Mapped[str | None] = mapped_column(String(36), default=None)
    ref_id: Mapped[str | None] = mapped_column(String(36), default=None)  # the shoot or request
    recipient_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    content_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # pending | sending | sent | held | suppressed | needs_attention
    status: Mapped[str] = mapped_column(String(16), default="pending")
    provider_message_id: Mapped[str | None] = mapped_column(String(200), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)  # error class and code only
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


# The privacy and compliance tables share this metadata (imported last: they use Base).
from schemas import privacy as _privacy  # noqa: E402,F401
