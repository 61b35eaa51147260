"""Four `headpix shoot start` at once on a fresh state dir (and a fresh PostgreSQL database):
nobody races the schema or the key store, and every shoot is delivered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from headpix.samples import sample_photos
from headpix.settings import TINY_MODEL
from ray_cluster.tiny import ensure_tiny_model

pytestmark = [pytest.mark.e2e]

SHOOTS = 4
TINY = {
    "HEADPIX_TRAIN_STEPS": "4",
    "HEADPIX_INFERENCE_STEPS": "2",
    "HEADPIX_IMAGES_PER_STYLE": "1",
    "HEADPIX_STYLES": "corporate",
    "HEADPIX_MIN_SIDE_PX": "64",
    "HEADPIX_CPU_ACTORS": "1",
    "HEADPIX_RAY_OBJECT_STORE_MB": "128",
}


def share_tiny_model(home: Path, session_dir: Path) -> None:
    """Build the tiny model once for the session, not four times at once (not what is tested)."""
    shared = session_dir / "models"
    ensure_tiny_model(TINY_MODEL, shared)
    home.mkdir(parents=True)
    (home / "models").symlink_to(shared, target_is_directory=True)


def start_together(tmp_path: Path, session_dir: Path, extra: dict[str, str]) -> list[tuple[int, str, str]]:
    share_tiny_model(tmp_path / "home", session_dir)
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, data in sample_photos(4):
        (photos / name).write_bytes(data)
    env = {**os.environ, **TINY, "HEADPIX_HOME": str(tmp_path / "home"), **extra}
    env.pop("PREFECT_HOME", None)  # each state dir keeps Prefect's home inside it, as in production
    command = [sys.executable, "-m", "headpix.app.cli", "shoot", "start", "--gender", "woman"]
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [*command, "--email", f"c{i}@example.com", "--name", f"C{i}", "--photos", str(photos), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(SHOOTS)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        results.append((process.returncode, out, err))
    print(f"{SHOOTS} concurrent shoots took {time.monotonic() - started:.1f} s")
    return results


def assert_all_delivered(results: list[tuple[int, str, str]]) -> None:
    for code, out, err in results:
        assert code == 0, f"exit {code}: {out[-500:]} {err[-2000:]}"
        assert json.loads(out.strip().splitlines()[-1])["status"] == "delivered"


def test_four_shoots_start_together_on_a_fresh_embedded_home(tmp_path, session_dir):
    assert_all_delivered(start_together(tmp_path, session_dir, {}))


@pytest.mark.postgres
def test_four_shoots_start_together_on_a_fresh_postgres_database(tmp_path, session_dir, fresh_postgres_url):
    assert_all_delivered(start_together(tmp_path, session_dir, {"HEADPIX_DATABASE_URL": fresh_postgres_url}))
