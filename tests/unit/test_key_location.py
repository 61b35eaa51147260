"""The embedded master key and key store live outside the state dir that a backup would copy."""

from __future__ import annotations

import base64
import multiprocessing
from pathlib import Path

import pytest

from headpix.key_location import prepare_key_dir, read_or_create_master_key
from headpix.privacy.crypto import KeyRing, load_master_key
from headpix.settings import Settings, SettingsError, load_settings


def test_key_dir_is_outside_home_and_one_per_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    first = load_settings(home=tmp_path / "a")
    second = load_settings(home=tmp_path / "b")
    assert first.resolved_key_dir.parent == tmp_path / "data" / "headpix" / "keys"
    assert first.resolved_key_dir != second.resolved_key_dir
    for settings in (first, second):
        assert settings.state_dir not in settings.master_key_file.parents
        assert str(settings.state_dir) not in settings.resolved_keys_database_url
    assert load_settings(home=tmp_path / "a").resolved_key_dir == first.resolved_key_dir


def test_key_dir_setting_overrides(tmp_path):
    settings = load_settings(home=tmp_path / "state", key_dir=tmp_path / "vault")
    assert settings.master_key_file == tmp_path / "vault" / "master.key"
    assert settings.resolved_keys_database_url == f"sqlite:///{tmp_path / 'vault' / 'keys.db'}"


def test_generated_key_is_private_and_stable(tmp_path):
    settings = load_settings(home=tmp_path / "state", key_dir=tmp_path / "vault")
    key = load_master_key(settings)
    assert len(key) == 32 and load_master_key(settings) == key
    assert settings.master_key_file.stat().st_mode & 0o777 == 0o600
    assert settings.resolved_key_dir.stat().st_mode & 0o777 == 0o700
    assert not (tmp_path / "state" / "keys").exists()


def _make_key(settings: Settings, queue: multiprocessing.Queue) -> None:
    queue.put(read_or_create_master_key(settings))


def test_processes_starting_together_agree_on_one_key(tmp_path):
    settings = load_settings(home=tmp_path / "state", key_dir=tmp_path / "vault")
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue = context.Queue()
    workers = [context.Process(target=_make_key, args=(settings, queue)) for _ in range(6)]
    for worker in workers:
        worker.start()
    keys = {queue.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(timeout=60)
    assert len(keys) == 1
    assert sorted(p.name for p in (tmp_path / "vault").iterdir()) == [".lock", "master.key"]


def _legacy_home(tmp_path: Path) -> tuple[Settings, bytes]:
    """A state dir as earlier versions left it: keys inside <home>/keys."""
    old = load_settings(home=tmp_path / "state", key_dir=tmp_path / "state" / "keys")
    ring = KeyRing(old)
    data_key = ring.data_key("customer-1", create=True)
    ring.db.dispose()
    return load_settings(home=tmp_path / "state", key_dir=tmp_path / "vault"), data_key


def test_keys_in_the_state_dir_are_moved_not_copied(tmp_path):
    settings, data_key = _legacy_home(tmp_path)
    legacy_key = (tmp_path / "state" / "keys" / "master.key").read_text()
    ring = KeyRing(settings)
    assert ring.data_key("customer-1") == data_key  # same master key, same key store
    assert settings.master_key_file.read_text() == legacy_key
    assert not (tmp_path / "state" / "keys").exists(), "no copy of the keys may stay in the state dir"
    ring.db.dispose()


def test_two_different_master_keys_are_refused_not_overwritten(tmp_path):
    settings, _ = _legacy_home(tmp_path)
    settings.resolved_key_dir.mkdir(parents=True)
    settings.master_key_file.write_text(base64.b64encode(b"k" * 32).decode())
    with pytest.raises(SettingsError, match="HEADPIX_KEY_DIR"):
        prepare_key_dir(settings)
    assert (tmp_path / "state" / "keys" / "master.key").exists()
