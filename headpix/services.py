"""The one place that turns settings into adapters: database, storage, mail, GPU workers."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from headpix.db import Database
from headpix.launcher import Launcher, LaunchError
from headpix.mail import EmlFolderProvider, MailProvider, SendGridProvider
from headpix.migrate_lock import require_schema_at_head, upgrade_locked
from headpix.privacy.crypto import KeyRing, sealed_store_for_customers
from headpix.sealing import Fences
from headpix.settings import Settings, get_settings
from headpix.storage import ObjectStore, open_store
from ray_cluster.jobs import StorageSpec

if TYPE_CHECKING:
    from ray_cluster.pool import WorkerPool


@dataclass
class Services:
    settings: Settings
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _pool_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _pool: WorkerPool | None = field(default=None, repr=False)

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.resolved_database_url)

    @cached_property
    def raw_store(self) -> ObjectStore:
        """Bytes as stored (sealed): for deletion and verification, never for reading content."""
        return open_store(self.settings.resolved_storage_url, self.settings.storage_options)

    @cached_property
    def keys(self) -> KeyRing:
        return KeyRing(self.settings)

    @cached_property
    def fences(self) -> Fences:
        return Fences(self.raw_store, self.keys.fence_secret)

    @cached_property
    def store(self) -> ObjectStore:
        """Objects of a customer are sealed with their data key on the way in and out, and fenced."""
        return sealed_store_for_customers(self.raw_store, self.keys, self.fences)

    def storage_spec_for(self, customer_id: str) -> StorageSpec:
        """What a worker needs to read and write one customer's objects, in memory only.

        Never creates a key: the customer's first object (an original) did. A fenced customer
        (an erasure under way) gets no spec at all.
        """
        self.fences.check(customer_id)
        return StorageSpec(
            self.settings.resolved_storage_url,
            self.settings.storage_options,
            data_key=self.keys.data_key(customer_id),
            fence=self.fences.key_for(customer_id),
        )

    @cached_property
    def mail(self) -> MailProvider:
        if self.settings.mail_backend == "sendgrid":
            return SendGridProvider(
                self.settings.sendgrid_api_key.get_secret_value(),
                self.settings.sendgrid_host,
                timeout_s=self.settings.sendgrid_timeout_s,
            )
        return EmlFolderProvider(self.settings.mail_folder)

    @property
    def pool(self) -> WorkerPool:
        """Joined (or started) on first use, once, whichever thread comes first (a flow run
        warms it up in the background: headpix.warm_up)."""
        from ray_cluster import runtime
        from ray_cluster.pool import WorkerPool

        with self._pool_lock:
            if self._pool is not None:
                return self._pool
            runtime.connect(
                self.settings.ray_address or None,
                temp_dir=None,
                object_store_mb=self.settings.ray_object_store_mb,
            )
            self._pool = WorkerPool(
                base_model=self.settings.base_model,
                models_dir=self.settings.models_dir,
                offline=self.settings.offline,
                gpus_per_actor=self.settings.gpus_per_actor,
                cpu_actors=self.settings.cpu_actors,
                # On a cluster the actors outlive each flow run, so the next shoot finds them warm.
                detached=bool(self.settings.ray_address),
            )
            return self._pool

    _migrated: bool = field(default=False, repr=False)
    _launcher: Launcher | None = field(default=None, repr=False)

    def use_launcher(self, launcher: Launcher) -> None:
        self._launcher = launcher

    @property
    def launcher(self) -> Launcher:
        """How work starts: a deployment run in production, in-process when the app installed one."""
        if self._launcher is None:
            if self.settings.launcher != "deployments":
                raise LaunchError(
                    "no launcher installed: build services with headpix.app.wiring.build_services, "
                    "or set HEADPIX_LAUNCHER=deployments with PREFECT_API_URL"
                )
            from headpix.deployment_launcher import DeploymentLauncher

            self._launcher = DeploymentLauncher(self.settings.prefect_api_url)
        return self._launcher

    def migrate(self, *, deploy: bool = False) -> None:
        """Bring the schema to head once per process, under a lock (processes may start together).
        In production only `headpix db upgrade` (deploy=True) migrates; start-up checks head."""
        with self._lock:
            if not self._migrated:
                url = self.settings.resolved_database_url
                if self.settings.environment == "production" and not deploy:
                    require_schema_at_head(url)
                else:
                    upgrade_locked(url)
                self._migrated = True


_current: Services | None = None
_current_lock = threading.Lock()


def configure_runtime_environment(settings: Settings) -> None:
    """Point Prefect's state at our state dir and switch off telemetry, before Prefect loads."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(settings.state_dir / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def get_services() -> Services:
    """The process-wide services, built from settings on first use."""
    global _current
    with _current_lock:
        if _current is None:
            _current = Services(get_settings())
        return _current


def current_services() -> Services | None:
    """The installed services, if any (the application layer builds them once)."""
    with _current_lock:
        return _current


def use_services(services: Services | None) -> None:
    """Install (or clear) the process-wide services; tests and the CLI choose adapters here."""
    global _current
    with _current_lock:
        _current = services
