"""A small disk of its own (tmpfs) for the disk-full faults, and ballast to fill it."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path


def mount_tmpfs(folder: Path, size_mb: int) -> str | None:
    """Mount a tmpfs of ``size_mb`` over ``folder`` (root only); None, or why it failed."""
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if done.returncode == 0 else (done.stderr.strip()[:200] or "mount failed")


def unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, leave_mb: float = 0) -> Path:
    """Write a ballast file so that only ``leave_mb`` stays free (0: to the last byte)."""
    ballast = folder / "ballast"
    free = shutil.disk_usage(folder).free - int(leave_mb * (1 << 20))
    with ballast.open("wb", buffering=0) as out:
        if not leave_mb:
            # To the last byte: other writers share the disk, so write until ENOSPC.
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * (1 << 20))
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * 4096)
            return ballast
        while free > 0:
            chunk = min(free, 1 << 20)
            out.write(b"\0" * chunk)
            free -= chunk
    return ballast
