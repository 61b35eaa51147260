"""Tables of the web layer (accounts' proven address, the upload draft area) and its API bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from schemas.models import Base, new_id, utcnow


class WebAccount(Base):
    """When a customer proved their address by opening a mailed link; erased with the customer."""

    __tablename__ = "web_accounts"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    address_proven_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DraftPhoto(Base):
    """An accepted upload waiting, sealed, for the shoot to start; swept after ``draft_hours``."""

    __tablename__ = "draft_photos"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    filename_sealed: Mapped[bytes] = mapped_column(LargeBinary)  # under the customer's data key
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    phash: Mapped[str] = mapped_column(String(70))  # perceptual hash (hex), duplicates across uploads
    key: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# ---- API bodies (the JSON API under /api mirrors the pages) ----


class ErrorOut(BaseModel):
    error: str
    message: str


class SignupIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    gender: str = Field(max_length=16)
    consent: bool
    attire: str | None = Field(default=None, max_length=80)
    background: str | None = Field(default=None, max_length=80)
    hair: str | None = Field(default=None, max_length=80)
    glasses: bool | None = None
    age_range: str | None = Field(default=None, max_length=20)
    expression: str | None = Field(default=None, max_length=40)


class SignInIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)


class MessageOut(BaseModel):
    message: str


class PhotoFeedbackOut(BaseModel):
    """One upload's verdict in plain words; ``photo_id`` is set when it was kept."""

    file: str
    accepted: bool
    reasons: list[str]
    sentences: list[str]
    photo_id: str | None = None


class DraftOut(BaseModel):
    photos: list[PhotoFeedbackOut]
    needed: int
    ready: bool
    address_proven: bool
    message: str


class ShootOut(BaseModel):
    shoot_id: str
    status: str
    stage: str
    progress_step: int | None = None
    progress_total: int | None = None
    percent: int | None = None
    message: str
    headshots: int
    finished: bool


class ShootSummaryOut(BaseModel):
    shoot_id: str
    status: str
    created_at: datetime


class ShootListOut(BaseModel):
    shoots: list[ShootSummaryOut]


class HeadshotOut(BaseModel):
    headshot_id: str
    style: str
    number: int
    url: str
    thumbnail_url: str


class GalleryOut(BaseModel):
    """A gallery's headshots and where to fetch them (the same URLs as the gallery page)."""

    headshots: list[HeadshotOut]
    zip_url: str


class ShootStarted(BaseModel):
    shoot_id: str


class PrivacyRequestIn(BaseModel):
    type: str = Field(max_length=16)
    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    new_email: str | None = Field(default=None, max_length=320)


class RequestOut(BaseModel):
    request_id: str | None
    type: str
    status: str
    message: str
