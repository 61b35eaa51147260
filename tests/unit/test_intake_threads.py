"""Intake checks from several threads at once (the web layer judges uploads in a thread pool):
same verdicts as one at a time, and the process survives. Before the face models were guarded,
two threads inside dlib corrupted the heap (SIGSEGV or SIGABRT on every run)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    from headpix.intake import IntakeRules, PhotoInput
    from headpix.intake.check import check_one
    from headpix.samples import sample_photos
    from headpix.settings import load_settings

    rules = IntakeRules.from_settings(load_settings(home=tempfile.mkdtemp(prefix="headpix-threads-")))
    photos = [PhotoInput(n, d, len(d)) for n, d in sample_photos(6)]
    alone = [check_one(p, rules)[0].face_box for p in photos]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            together = list(pool.map(lambda p: check_one(p, rules)[0].face_box, photos))
            assert together == alone, (together, alone)
    print("same verdicts")
    """
)


def test_concurrent_intake_checks_neither_crash_nor_change_verdicts():
    # In a child process: without the guard this crashes the interpreter, not just the test.
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert "same verdicts" in done.stdout
