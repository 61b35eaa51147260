"""Start-up on a fresh database by several processes at once; production start-up checks."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from headpix.migrate_lock import SchemaNotCurrent, create_all_locked, schema_at_head, upgrade_locked
from headpix.services import Services
from headpix.settings import load_settings
from schemas.privacy import KeysBase

WORKERS = 4


def _upgrade(url: str) -> None:
    upgrade_locked(url)


def _create_keys(url: str) -> None:
    engine = sa.create_engine(url)
    create_all_locked(KeysBase.metadata, engine=engine)
    engine.dispose()


def run_together(target: Callable[[str], None], url: str) -> list[int]:
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as separate commands are
    workers = [context.Process(target=target, args=(url,)) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
    return [worker.exitcode or 0 for worker in workers]


def test_processes_migrating_a_fresh_sqlite_file_together(tmp_path):
    url = f"sqlite:///{tmp_path / 'headpix.db'}"
    assert run_together(_upgrade, url) == [0] * WORKERS
    assert schema_at_head(url)


@pytest.mark.postgres
def test_processes_migrating_a_fresh_postgres_database_together(fresh_postgres_url):
    assert run_together(_upgrade, fresh_postgres_url) == [0] * WORKERS
    assert schema_at_head(fresh_postgres_url)


@pytest.mark.postgres
def test_processes_creating_the_key_store_together(fresh_postgres_url):
    assert run_together(_create_keys, fresh_postgres_url) == [0] * WORKERS
    engine = sa.create_engine(fresh_postgres_url)
    assert sa.inspect(engine).has_table("customer_data_keys")
    engine.dispose()


def production_env(tmp_path: Path) -> dict[str, str]:
    from headpix.privacy.receipts import init_key

    receipt = tmp_path / "vault" / "receipt.pem"
    if not receipt.exists():
        init_key(receipt)
    return {
        "HEADPIX_RECEIPT_SIGNING_KEY_FILE": str(receipt),
        "HEADPIX_ENVIRONMENT": "production",
        "HEADPIX_HOME": str(tmp_path / "state"),
        "HEADPIX_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'headpix.db'}",
        "HEADPIX_KEYS_DATABASE_URL": f"sqlite:///{tmp_path / 'vault' / 'keys.db'}",
        "HEADPIX_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "HEADPIX_SESSION_SECRET": secrets.token_urlsafe(32),
    }


def test_production_start_up_never_migrates_and_names_the_command(tmp_path):
    values = {k.removeprefix("HEADPIX_").lower(): v for k, v in production_env(tmp_path).items()}
    services = Services(load_settings(**values))
    with pytest.raises(SchemaNotCurrent, match="headpix db upgrade"):
        services.migrate()
    services.migrate(deploy=True)
    Services(load_settings(**values)).migrate()  # at head now: start-up goes on


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headpix.app.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_cli_refuses_until_db_upgrade(tmp_path):
    env = production_env(tmp_path)
    refused = cli(["shoot", "status", "0000", "--json"], env)
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["error"] == "schema_not_current"
    assert "headpix db upgrade" in json.loads(refused.stdout)["message"]
    assert cli(["db", "upgrade"], env).returncode == 0
    after = cli(["shoot", "status", "0000", "--json"], env)
    assert after.returncode == 1 and json.loads(after.stdout)["error"] == "not_found"


def test_placeholder_secret_refuses_the_cli_naming_the_setting(tmp_path):
    env = {**production_env(tmp_path), "HEADPIX_MASTER_KEY": "test"}
    result = cli(["shoot", "status", "0000", "--json"], env)
    assert result.returncode == 2
    out = json.loads(result.stdout)
    assert out["error"] == "invalid_settings" and "HEADPIX_MASTER_KEY" in out["message"]


@pytest.mark.postgres
def test_an_unreachable_database_is_the_documented_json_without_internals(tmp_path, postgres_url):
    """Once an unexpected error, now translated: a clear code and message, nothing internal."""
    missing = postgres_url.rsplit("/", 1)[0] + "/headpix_no_such_database"
    env = {"HEADPIX_HOME": str(tmp_path / "state"), "HEADPIX_DATABASE_URL": missing}
    result = cli(["shoot", "status", "0000", "--json"], env)
    assert result.returncode == 1
    out = json.loads(result.stdout)
    assert out["error"] == "database_unavailable" and "HEADPIX_DATABASE_URL" in out["message"]
    assert "Traceback" not in result.stderr
    assert "headpix_no_such_database" not in result.stdout + result.stderr


def test_an_unexpected_error_is_the_documented_json_without_internals(tmp_path):
    """An error nothing translates (a key store whose server refuses connections, met while the
    key ring builds its schema) ends in the documented form with an incident id, never a
    traceback or the failing value."""
    env = {
        "HEADPIX_HOME": str(tmp_path / "state"),
        "HEADPIX_KEYS_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/headpix_no_such_keys",
    }
    result = cli(["privacy", "request", "access", "--email", "a@example.com", "--json"], env)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 70 and "Traceback" not in result.stderr
    assert out["error"] == "internal" and "incident" in out["message"]
    assert "headpix_no_such_keys" not in result.stdout + result.stderr
