"""The one settings object: every knob Headpix reads from the environment (prefix ``HEADPIX_``)."""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from headpix import secrets_policy

TINY_MODEL = "tiny-sd"
TINY_XL_MODEL = "tiny-sdxl"


class SettingsError(RuntimeError):
    """Start-up refused: a setting is missing or invalid."""


class Settings(BaseSettings):
    """Headpix configuration. Embedded defaults need no set-up; production is configuration only."""

    model_config = SettingsConfigDict(env_prefix="HEADPIX_", extra="ignore", validate_default=True)

    environment: Literal["development", "test", "production"] = Field(
        default="development", description="production refuses placeholder secrets (check_production)."
    )

    home: Path = Field(default=Path(".headpix"), description="State dir for the embedded default.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default SQLite under home.")
    storage_url: str = Field(
        default="", description="file://… or s3://bucket/prefix; default a folder under home."
    )
    s3_endpoint_url: str = ""
    s3_access_key_id: SecretStr = SecretStr("")
    s3_secret_access_key: SecretStr = SecretStr("")
    s3_region: str = "us-east-1"
    storage_reserve_mb: int = Field(
        default=32, ge=0, description="a file store refuses writes that would leave less free than this"
    )

    mail_backend: Literal["eml", "sendgrid"] = "eml"
    sendgrid_api_key: SecretStr = SecretStr("")
    sendgrid_host: str = "https://api.sendgrid.com"
    sendgrid_timeout_s: float = Field(
        default=20.0, gt=0, description="an answer later than this leaves a message's fate unknown"
    )
    mail_sender: str = "studio@headpix.example"
    public_url: str = "http://127.0.0.1:8000"
    gallery_link_days: int = Field(default=30, ge=1, le=365)

    launcher: Literal["inprocess", "deployments"] = Field(
        default="inprocess", description="inprocess: flows run in the caller; deployments: Prefect runs"
    )
    ray_address: str = Field(default="", description="Ray cluster address; empty starts Ray locally.")
    gpus_per_actor: float = Field(default=0.0, ge=0.0, le=8.0)
    watchdog_silence_s: float = Field(
        default=300.0, gt=0, description="A running shoot without a heartbeat this long is stuck."
    )
    watchdog_grace_s: float = Field(
        default=60.0, gt=0, description="A shoot without a live run, quiet this long, is resumed."
    )
    watchdog_max_attempts: int = Field(default=3, ge=1, le=20, description="Resumes before it fails.")
    heartbeat_s: float = Field(default=5.0, gt=0, description="How often working tasks record liveness.")
    cpu_actors: int = Field(default=1, ge=1, le=64, description="Actors when the cluster has no GPUs.")
    ray_object_store_mb: int = Field(default=256, ge=64)

    base_model: str = Field(default=TINY_MODEL, description="Hub id, local folder, or tiny-sd / tiny-sdxl.")
    offline: bool = True
    # NoDecode: "corporate,studio" in the environment reaches _split_styles instead of json.loads.
    styles: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["corporate", "studio"])
    images_per_style: int = Field(default=4, ge=1, le=64)
    train_steps: int = Field(default=0, ge=0, le=20000, description="0: scaled by photo count.")
    train_resolution: int = Field(default=512, ge=64, le=2048)
    inference_steps: int = Field(default=0, ge=0, le=200, description="0: model default.")
    seed: int = 0

    min_photos: int = Field(default=4, ge=1)
    max_photos: int = Field(default=30, ge=1)
    max_file_mb: float = Field(default=30.0, gt=0)
    max_megapixels: float = Field(default=60.0, gt=0)
    min_side_px: int = Field(default=256, ge=32)
    virus_scanner: Literal["none", "clamav"] = "none"
    clamscan_path: str = "clamscan"
    clamav_database: str = ""
    clamav_library_path: str = ""
    min_face_share: float = Field(default=0.10, gt=0, le=1, description="Face box side / short image side.")
    min_face_sharpness: float = Field(
        default=25.0, ge=0, description="Laplacian variance of the face at 96 px."
    )
    duplicate_hash_distance: int = Field(
        default=42, ge=0, le=255, description="pHash bits (of 255) of a duplicate."
    )
    second_face_ratio: float = Field(
        default=0.6, gt=0, le=1, description="Other faces this size of the main one count."
    )
    same_person_distance: float = Field(
        default=0.6, gt=0, le=2, description="Face descriptor distance within which photos show one person."
    )
    # Likeness check of rendered headshots (0-1; 0.5 is the same-person boundary). Re-renders
    # apply to real base models only: the tiny random-weight model renders noise.
    likeness_threshold: float = Field(default=0.5, ge=0, le=1)
    likeness_rerenders: int = Field(default=2, ge=0, le=10, description="New seeds per weak headshot.")
    clamscan_timeout_s: float = Field(default=60.0, gt=0)

    # Privacy engine. The master key wraps each customer's data key; the key store is its own
    # database so that backups of the main one never hold keys (its backups: 14 days at most).
    master_key: SecretStr = Field(default=SecretStr(""), description="base64 32 bytes")
    keys_database_url: str = ""
    key_dir: Path | None = Field(
        default=None, description="embedded master key and key store; default per user, outside home"
    )
    session_secret: SecretStr = Field(
        default=SecretStr(""), description="keys web sessions, CSRF tokens and rate-limit hashes"
    )
    receipt_signing_key_file: str = Field(
        default="", description="Ed25519 PEM; embedded default: made in the key dir on first use"
    )
    request_token_hours: int = Field(default=48, ge=1, le=720)
    erasure_days: int = Field(default=14, ge=1, le=14, description="policy: at most 14")
    request_days: int = Field(default=30, ge=1, le=30, description="one month for other rights")
    export_days: int = Field(default=7, ge=1, le=30)

    # Web layer (web/): sessions, sign-in links, upload limits, the draft area.
    session_idle_minutes: int = Field(default=60, ge=5, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=24 * 30)
    sign_in_link_minutes: int = Field(default=15, ge=1, le=60)
    upload_max_total_mb: float = Field(default=400.0, gt=0, description="all photos of one shoot")
    draft_hours: float = Field(default=24.0, gt=0, description="unstarted uploads are swept after this")
    gallery_reminder_days: float = Field(default=3.0, gt=0, description="reminder before headshots expire")
    rate_limit_per_minute: int = Field(default=20, ge=1, description="form posts per client or address")
    upload_rate_per_minute: int = Field(default=120, ge=1)

    # Retention (the sweep's safety nets and expiries).
    originals_max_age_hours: float = Field(default=72.0, gt=0)
    headshot_retention_days: float = Field(default=30.0, gt=0, description="after delivery")
    identity_model_retention_days: float = Field(default=7.0, gt=0, description="after delivery")
    inactivity_days: int = Field(default=730, ge=30, description="24 months without activity: warn")
    inactivity_grace_days: int = Field(default=30, ge=1, description="after the warning: erase")

    @field_validator("styles", mode="before")
    @classmethod
    def _split_styles(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().startswith("["):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("a JSON list or a comma-separated list of style names") from None
        if isinstance(value, str):
            return [s.strip() for s in value.split(",") if s.strip()]
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.min_photos > self.max_photos:
            raise ValueError("HEADPIX_MIN_PHOTOS must not exceed HEADPIX_MAX_PHOTOS")
        if self.mail_backend == "sendgrid" and not self.sendgrid_api_key.get_secret_value():
            raise ValueError("HEADPIX_SENDGRID_API_KEY is required when HEADPIX_MAIL_BACKEND=sendgrid")
        if self.storage_url and not self.storage_url.startswith(("file://", "s3://")):
            raise ValueError("HEADPIX_STORAGE_URL must start with file:// or s3://")
        if self.launcher == "deployments" and not environment_flag("PREFECT_API_URL"):
            raise ValueError(
                "HEADPIX_LAUNCHER=deployments needs PREFECT_API_URL (the Prefect server's API URL)"
            )
        if not self.styles:
            raise ValueError("HEADPIX_STYLES must name at least one style")
        return self

    @property
    def prefect_api_url(self) -> str:
        return environment_flag("PREFECT_API_URL") or ""

    @property
    def state_dir(self) -> Path:
        return self.home.resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'headpix.db'}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or (self.state_dir / "objects").as_uri()

    @property
    def storage_options(self) -> dict[str, Any]:
        """fsspec options for the storage URL (credentials included; never log them)."""
        if not self.resolved_storage_url.startswith("s3://"):
            return {"reserve_bytes": self.storage_reserve_mb << 20}
        options: dict[str, Any] = {"version_aware": True}
        client: dict[str, Any] = {"region_name": self.s3_region}
        if self.s3_endpoint_url:
            client["endpoint_url"] = self.s3_endpoint_url
        options["client_kwargs"] = client
        if self.s3_access_key_id.get_secret_value():
            options["key"] = self.s3_access_key_id.get_secret_value()
            options["secret"] = self.s3_secret_access_key.get_secret_value()
        return options

    @property
    def resolved_key_dir(self) -> Path:
        """Embedded default only: the generated master key and the key store, outside the state
        dir so that a backup of the data never holds them. One folder per state dir (by the hash
        of its resolved path) under $XDG_DATA_HOME/headpix/keys, or HEADPIX_KEY_DIR."""
        if self.key_dir is not None:
            return self.key_dir.expanduser().resolve()
        data_home = environment_flag("XDG_DATA_HOME") or ""
        base = Path(data_home) if Path(data_home).is_absolute() else Path.home() / ".local" / "share"
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:16]
        return base / "headpix" / "keys" / digest

    @property
    def legacy_key_dir(self) -> Path:
        """Where earlier versions kept the embedded keys (inside the state dir); moved on start."""
        return self.state_dir / "keys"

    @property
    def resolved_keys_database_url(self) -> str:
        return self.keys_database_url or f"sqlite:///{self.resolved_key_dir / 'keys.db'}"

    @property
    def master_key_file(self) -> Path:
        """Embedded default only: a generated master key beside the key store, never in backups
        of the main database. Production sets HEADPIX_MASTER_KEY from a secret manager."""
        return self.resolved_key_dir / "master.key"

    def production_problems(self) -> list[str]:
        """Every reason production start-up refuses these settings (empty outside production)."""
        if self.environment != "production":
            return []
        problems = [
            secrets_policy.master_key_problem(self.master_key.get_secret_value()),
            secrets_policy.session_secret_problem(self.session_secret.get_secret_value()),
            secrets_policy.key_store_problem(self.keys_database_url, self.resolved_database_url),
            secrets_policy.receipt_key_problem(self.receipt_signing_key_file),
        ]
        if self.mail_backend == "sendgrid":
            problems.append(secrets_policy.sendgrid_key_problem(self.sendgrid_api_key.get_secret_value()))
        return [problem for problem in problems if problem]

    def check_production(self) -> None:
        """Refuse start-up in production on placeholder secrets or a key store beside the data."""
        problems = self.production_problems()
        if problems:
            raise SettingsError("refusing to start in production: " + "; ".join(problems))

    @property
    def receipt_key_path(self) -> Path:
        """The receipt-signing key: the configured file, else the embedded key dir's."""
        if self.receipt_signing_key_file:
            return Path(self.receipt_signing_key_file).expanduser()
        return self.resolved_key_dir / "receipt-signing-key.pem"

    @property
    def mail_folder(self) -> Path:
        return self.state_dir / "mail"

    @property
    def models_dir(self) -> Path:
        return self.state_dir / "models"

    @property
    def ray_temp_dir(self) -> Path:
        return self.state_dir / "ray"


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = item.get("loc") or ()
        name = "HEADPIX_" + str(loc[0]).upper() if loc else "settings"
        lines.append(f"{name}: {item['msg']}")
    return "invalid settings: " + "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; raise SettingsError naming the bad setting."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    settings.check_production()
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def environment_flag(name: str) -> str | None:
    """The one sanctioned read of a non-HEADPIX variable (CI detection, Ray's own address)."""
    return os.environ.get(name)
