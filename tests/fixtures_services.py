"""Real services on 127.0.0.1: PostgreSQL, moto's S3 server, a recording SendGrid endpoint."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from headpix.app.wiring import install_launcher
from headpix.services import Services, use_services
from headpix.settings import Settings, load_settings

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _require(condition: bool, reason: str) -> None:
    from tests.conftest import require

    require(condition, reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database on the local PostgreSQL shared by the session, dropped afterwards."""
    yield from _postgres_database()


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A database of the test's own, for tests that count every row of a table."""
    yield from _postgres_database()


def _postgres_database() -> Iterator[str]:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as error:
        admin.dispose()
        _require(False, f"PostgreSQL at 127.0.0.1:5432 not reachable ({type(error).__name__})")
    name = f"headpix_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class S3Server:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )

    def versioned_bucket(self) -> str:
        name = f"headpix-{uuid.uuid4().hex[:12]}"
        client = self.client()
        client.create_bucket(Bucket=name)
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def all_versions(self, bucket: str) -> list[dict[str, Any]]:
        page = self.client().list_object_versions(Bucket=bucket)
        return list(page.get("Versions", [])) + list(page.get("DeleteMarkers", []))


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    try:
        server = S3Server()
    except Exception as error:
        _require(False, f"moto's S3 server could not start ({error})")
    yield server
    server.server.stop()


class SendGridRecorder:
    """Records `POST /v3/mail/send` like SendGrid's API would accept it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.answer = 202  # set to 429 or 503 to refuse before acceptance
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/v3/mail/send" or not self.headers.get("Authorization"):
                    self.send_response(404)
                    self.end_headers()
                    return
                if recorder.answer >= 300:
                    self.send_response(recorder.answer)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                recorder.messages.append(body)
                self.send_response(202)
                self.send_header("X-Message-Id", f"sg-{len(recorder.messages)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sendgrid() -> Iterator[SendGridRecorder]:
    recorder = SendGridRecorder()
    yield recorder
    recorder.stop()


FAST = {
    "train_steps": 6,
    "images_per_style": 4,
    "styles": ["corporate", "studio"],
    "inference_steps": 2,
    "min_side_px": 64,
}


def receipt_key(session_dir: Path) -> Path:
    """One signing key per session, outside every state dir (as `headpix keys init` advises)."""
    from headpix.privacy.receipts import init_key

    path = session_dir / "receipt-signing-key.pem"
    return path if path.exists() else init_key(path)


@pytest.fixture
def make_services(tmp_path: Path, session_dir: Path) -> Iterator[Callable[..., Services]]:
    """Build Services from settings overrides; the tiny model is shared by the session."""
    made: list[Services] = []

    def build(**overrides: Any) -> Services:
        values: dict[str, Any] = {
            "home": tmp_path / "state",
            "key_dir": str(tmp_path / "keys"),  # outside the state dir, as in production
            "receipt_signing_key_file": str(receipt_key(session_dir)),
            **FAST,
            **overrides,
        }
        settings: Settings = load_settings(**values)
        settings.models_dir.parent.mkdir(parents=True, exist_ok=True)
        shared = session_dir / "models"
        shared.mkdir(exist_ok=True)
        if not settings.models_dir.exists():
            settings.models_dir.symlink_to(shared, target_is_directory=True)
        services = install_launcher(Services(settings))
        services.migrate()
        use_services(services)
        made.append(services)
        return services

    yield build
    use_services(None)
    for services in made:
        services.db.dispose()
