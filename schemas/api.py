"""Pydantic models that cross boundaries: CLI, web layer and flows share these."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from headpix.errors import UsageError

POLICY_VERSION = "2026-11"
# Deliberately simple: the confirmation mail proves the address; this only catches typos.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Gender(StrEnum):
    woman = "woman"
    man = "man"
    nonbinary = "nonbinary"

    @classmethod
    def parse(cls, value: str) -> Gender:
        synonyms = {"female": "woman", "male": "man", "non-binary": "nonbinary"}
        text = synonyms.get(value.strip().lower(), value.strip().lower())
        try:
            return cls(text)
        except ValueError:
            raise UsageError(
                f"gender {value!r} is not one of woman, man, nonbinary (female and male accepted)",
                code="invalid_gender",
            ) from None

    @property
    def class_word(self) -> str:
        """The class noun of the DreamBooth identity prompt."""
        return {"woman": "woman", "man": "man", "nonbinary": "person"}[self.value]


class Preferences(BaseModel):
    """What the customer wants their headshots to look like; every key optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    attire: str | None = Field(default=None, max_length=80, description="e.g. navy suit")
    background: str | None = Field(default=None, max_length=80, description="e.g. city office")
    hair: str | None = Field(default=None, max_length=80, description="e.g. short curly hair")
    glasses: bool | None = Field(default=None, description="true: wearing glasses")
    age_range: str | None = Field(default=None, max_length=20, description="e.g. 30s")
    expression: str | None = Field(default=None, max_length=40, description="e.g. warm smile")

    @classmethod
    def parse_json(cls, text: str | None) -> Preferences:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise UsageError(
                f"--preferences is not valid JSON: {error}", code="invalid_preferences"
            ) from None
        if not isinstance(data, dict):
            raise UsageError("--preferences must be a JSON object", code="invalid_preferences")
        unknown = sorted(set(data) - set(cls.model_fields))
        if unknown:
            known = ", ".join(cls.model_fields)
            raise UsageError(
                f"unknown preference key(s) {', '.join(unknown)}; known keys: {known}",
                code="invalid_preferences",
            )
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise UsageError(f"preference {field}: {first['msg']}", code="invalid_preferences") from None


class CustomerSignup(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)
    gender: Gender
    preferences: Preferences = Field(default_factory=Preferences)

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str) -> str:
        if not EMAIL_PATTERN.match(value):
            raise ValueError("is not an email address (expected name@domain.tld)")
        return value.lower()


class ShootStatus(StrEnum):
    received = "received"
    validating = "validating"
    training = "training"
    generating = "generating"
    delivering = "delivering"
    delivered = "delivered"
    failed = "failed"
    cancelled = "cancelled"
    paused = "paused"


STAGES = ("validate", "train", "generate", "deliver", "purge")


class HeadshotOut(BaseModel):
    key: str
    style: str
    seed: int


class ShootReport(BaseModel):
    """What `headpix shoot status --json` and `headpix demo --json` print."""

    shoot_id: str
    status: ShootStatus
    detail: str = ""
    headshots: list[HeadshotOut] = Field(default_factory=list)
    per_style: dict[str, int] = Field(default_factory=dict)
    # The link itself is only in the mail handed to the provider; we keep its hash.
    gallery_link_sent: bool = False
    gallery_link_expires_at: str | None = None
    email: str | None = None
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    rejected_photos: list[dict[str, Any]] = Field(default_factory=list)
    # Training progress (steps done of total) and which Ray node ran each stage, by node id.
    progress_step: int = 0
    progress_total: int = 0
    attempt: int = 0
    placement: dict[str, str] = Field(default_factory=dict)
