"""Pytest plugin: one local, loopback-only Ray per session (register with pytest_plugins)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ray_cluster import runtime


@pytest.fixture(scope="session")
def ray_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Start Ray once with a small object store; its folders go at the end."""
    runtime.connect(None, temp_dir=tmp_path_factory.mktemp("ray"), object_store_mb=128)
    yield
    runtime.shutdown()


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder per session where each tiny model is built once, on first use."""
    return tmp_path_factory.mktemp("models")
