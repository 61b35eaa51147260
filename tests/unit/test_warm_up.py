"""A flow run joins a configured Ray cluster in the background: never on the embedded default,
failures left to the training stage, and the pool built once whichever thread asks first."""

from __future__ import annotations

import threading
import time

import pytest

from headpix.services import Services
from headpix.settings import load_settings
from headpix.warm_up import join_cluster_early


@pytest.fixture
def services(tmp_path) -> Services:
    return Services(load_settings(home=tmp_path / "state", key_dir=str(tmp_path / "keys")))


def test_the_embedded_default_starts_no_ray_early(services, monkeypatch):
    started = []
    monkeypatch.setattr("ray_cluster.runtime.connect", lambda *a, **k: started.append(a))
    assert join_cluster_early(services) is None
    assert started == [] and services._pool is None


def test_an_unreachable_cluster_is_left_to_the_training_stage(services, monkeypatch, caplog):
    services.settings.ray_address = "127.0.0.1:1"

    def unreachable(*args, **kwargs):
        raise ConnectionError("no cluster at 127.0.0.1:1")

    monkeypatch.setattr("ray_cluster.runtime.connect", unreachable)
    with caplog.at_level("INFO", logger="headpix.warm_up"):
        thread = join_cluster_early(services)
        assert thread is not None
        thread.join(timeout=60)
    assert "joining the Ray cluster early failed (ConnectionError)" in caplog.text
    assert services._pool is None
    with pytest.raises(ConnectionError):  # the stage meets the same error, with its own handling
        _ = services.pool


def test_the_pool_is_built_once_when_two_threads_ask_at_once(services, monkeypatch):
    built = []

    class SlowPool:
        def __init__(self, **kwargs):
            time.sleep(0.3)  # joining a cluster takes a while
            built.append(self)

    monkeypatch.setattr("ray_cluster.runtime.connect", lambda *a, **k: None)
    monkeypatch.setattr("ray_cluster.pool.WorkerPool", SlowPool)
    services.settings.ray_address = "127.0.0.1:6379"
    early = join_cluster_early(services)
    seen = []
    askers = [threading.Thread(target=lambda: seen.append(services.pool)) for _ in range(3)]
    for asker in askers:
        asker.start()
    for thread in [*askers, early]:
        assert thread is not None
        thread.join(timeout=10)
    assert len(built) == 1 and len(seen) == 3 and all(p is built[0] for p in seen)
