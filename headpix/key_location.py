"""Where the embedded default keeps its master key and key store: outside the state dir.

A backup of the state dir (database, objects) must never hold the keys that unlock it, so
the generated master key and ``keys.db`` live in a per-user folder (``resolved_key_dir``).
Earlier versions kept them in ``<home>/keys``; they are moved, not copied, on first start.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import shutil
from pathlib import Path

from headpix.migrate_lock import file_lock
from headpix.settings import Settings, SettingsError

log = logging.getLogger(__name__)

MASTER_KEY_NAME = "master.key"
KEY_STORE_FILES = ("keys.db", "keys.db-wal", "keys.db-shm")


def prepare_key_dir(settings: Settings) -> Path:
    """Create the key folder (mode 700) and move keys left in the state dir by earlier versions."""
    folder = settings.resolved_key_dir
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    with file_lock(folder / ".lock"):
        moved = _move_legacy(settings, folder)
    if moved:
        log.warning(
            "moved the embedded master key and key store out of the state dir to %s "
            "(back this folder up apart from the state dir, or set HEADPIX_MASTER_KEY)",
            folder,
        )
    return folder


def _move_legacy(settings: Settings, folder: Path) -> list[str]:
    legacy = settings.legacy_key_dir
    if not legacy.is_dir() or legacy.resolve() == folder.resolve():
        return []
    names = [MASTER_KEY_NAME] if not settings.master_key.get_secret_value() else []
    if not settings.keys_database_url:
        names += list(KEY_STORE_FILES)
    moved = []
    for name in names:
        source, target = legacy / name, folder / name
        if not source.exists():
            continue
        if target.exists():
            if source.read_bytes() != target.read_bytes():
                raise SettingsError(
                    f"HEADPIX_KEY_DIR: {name} exists both in the state dir's old keys folder and in "
                    f"{folder}; keep the one that opens your key store, delete the other, start again"
                )
            source.unlink()
            continue
        shutil.move(str(source), str(target))
        moved.append(name)
    for lock in {*legacy.glob("*.lock"), *legacy.glob(".lock")}:
        lock.unlink()  # empty lock files: nothing of the keys in them
    if not any(legacy.iterdir()):
        legacy.rmdir()
    return moved


def read_or_create_master_key(settings: Settings) -> str:
    """The embedded master key (base64), generated once; safe when processes start together."""
    path = prepare_key_dir(settings) / MASTER_KEY_NAME
    if not path.exists():
        tmp = path.with_name(f".{MASTER_KEY_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
        tmp.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # fails if another process created it first: theirs wins
            log.warning(
                "generated the embedded master key at %s; back it up apart from the state dir "
                "(production sets HEADPIX_MASTER_KEY instead)",
                path,
            )
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
