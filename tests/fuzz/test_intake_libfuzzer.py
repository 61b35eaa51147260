"""A minute of coverage-guided fuzzing of the intake on every `make test` (never skipped in CI)."""

from __future__ import annotations

import importlib.util

from tests.conftest import require
from tests.fuzz.runner import run_fuzzer

SECONDS = 60
# About 25 executions a second on the 2-core dev machine under load; far fewer means the target
# stalled (or never started fuzzing) rather than explored.
MIN_EXECUTIONS = 300


def test_intake_survives_a_minute_of_coverage_guided_fuzzing(tmp_path):
    require(importlib.util.find_spec("atheris") is not None, "atheris not installed (make install)")
    run = run_fuzzer(seconds=SECONDS, workdir=tmp_path)
    tail = run.output[-4000:]
    assert run.returncode == 0 and not run.crashes, f"fuzzer failed; inputs kept: {run.crashes}\n{tail}"
    assert run.executions > MIN_EXECUTIONS, f"only {run.executions} executions in {SECONDS} s\n{tail}"
