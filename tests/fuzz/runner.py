"""Run the intake fuzz target in its own process (libFuzzer owns the process) and read its figures."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TARGET = Path(__file__).resolve().parent / "intake_target.py"
ROOT = TARGET.parents[2]


@dataclass
class FuzzRun:
    returncode: int
    executions: int
    corpus_files: int
    corpus_bytes: int
    crashes: list[Path]
    output: str
    command: list[str]


def run_fuzzer(*, seconds: int, workdir: Path, max_megapixels: float | None = None) -> FuzzRun:
    """Fuzz ``check_photos`` for ``seconds``; the corpus grows in ``workdir/corpus``."""
    corpus, seeds = workdir / "corpus", workdir / "seeds"
    corpus.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(TARGET), f"--seeds={seeds}"]
    if max_megapixels is not None:
        command.append(f"--max-megapixels={max_megapixels:g}")
    command += [
        f"-max_total_time={seconds}",
        f"-artifact_prefix={workdir}/",
        "-rss_limit_mb=4096",
        "-print_final_stats=1",
        str(corpus),
        str(seeds),
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 300, check=False
    )
    output = done.stdout + done.stderr
    runs = re.findall(r"^Done (\d+) runs", output, re.MULTILINE)
    files = [path for path in corpus.iterdir() if path.is_file()]
    return FuzzRun(
        returncode=done.returncode,
        executions=int(runs[-1]) if runs else 0,
        corpus_files=len(files),
        corpus_bytes=sum(path.stat().st_size for path in files),
        crashes=sorted(path for kind in ("crash", "oom", "timeout") for path in workdir.glob(f"{kind}-*")),
        output=output,
        command=command,
    )
