"""Where the stack keeps its state, and what it remembers between `up`, `status` and `down`."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

BUCKET = "headpix-stack"
WORK_POOL = "headpix-cpu"
PG_VERSION = "15"

RAY_TEMP_ROOT = Path("/tmp")  # Ray's socket paths must stay under 107 bytes
SOCKET_ROOT = Path("/tmp")


@dataclass
class StackState:
    """Ports and pids of one stack, saved as JSON in its folder."""

    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    pg_cluster: str = ""
    ray_temp_dir: str = ""
    head_node_id: str = ""
    # HEADPIX_* settings of the environment `up` ran in (steps, styles…): workers keep them.
    tuning: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StackLayout:
    """The stack's folder under the state dir: logs, pids, secrets (0600), recorded mail."""

    home: Path

    @property
    def root(self) -> Path:
        return self.home / "stack"

    @property
    def state_file(self) -> Path:
        return self.root / "stack.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    @property
    def mail_file(self) -> Path:
        # Beside the embedded .eml folder (settings.mail_folder): both stand for the provider,
        # outside our stores, and the erasure's residue scan skips them alike.
        return self.home / "mail" / "sendgrid-recorder.jsonl"

    @property
    def master_key_file(self) -> Path:
        return self.root / "secrets" / "master.key"

    @property
    def receipt_key_file(self) -> Path:
        return self.root / "secrets" / "receipt-signing-key.pem"

    @property
    def ray_token_file(self) -> Path:
        return self.root / "secrets" / "ray_auth_token"

    @property
    def screenshots(self) -> Path:
        return self.root / "screenshots"

    def engine_socket(self, worker: str) -> Path:
        """Where a worker's engine server listens: a 0700 folder under /tmp, since a Unix
        socket's path must stay under 108 bytes and the state dir may be deep."""
        return SOCKET_ROOT / f"headpix-engines-{self._digest}" / f"{worker}.sock"

    @property
    def _digest(self) -> str:
        return hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:10]

    @property
    def pg_cluster_name(self) -> str:
        # One private cluster per state dir; other stacks on this machine get other names.
        return "headpix_" + self._digest

    def load(self) -> StackState | None:
        if not self.state_file.is_file():
            return None
        return StackState(**json.loads(self.state_file.read_text(encoding="utf-8")))

    def save(self, state: StackState) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
        tmp.replace(self.state_file)

    def secret(self, path: Path, make: str) -> str:
        """Read a stack secret, creating it (mode 0600) on first use."""
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(make)
        return path.read_text(encoding="utf-8").strip()

    def master_key(self) -> str:
        return self.secret(self.master_key_file, base64.b64encode(secrets.token_bytes(32)).decode())

    def ray_token(self) -> str:
        return self.secret(self.ray_token_file, secrets.token_hex(32))
