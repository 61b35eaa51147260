"""Coverage-guided fuzzing of the intake for longer than `make test` does (default 10 minutes).

    .venv/bin/python bench/fuzz_intake.py [--seconds 600] [--max-megapixels 2] [--workdir DIR]

Runs tests/fuzz/intake_target.py (atheris/libFuzzer over check_photos, with the memory budget
check) and prints executions, executions per second, corpus size and whether it ended cleanly.
Keep --workdir between runs to grow the same corpus.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fuzz.runner import run_fuzzer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--max-megapixels", type=float, default=None, help="intake limit (target default 2)")
    parser.add_argument("--workdir", type=Path, default=None, help="corpus and crash inputs (default: temp)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hpx-fuzz-"))
    started = time.monotonic()
    run = run_fuzzer(seconds=args.seconds, workdir=workdir, max_megapixels=args.max_megapixels)
    wall = time.monotonic() - started
    figures = {
        "seconds_fuzzing": args.seconds,
        "wall_seconds": round(wall, 1),
        "executions": run.executions,
        "executions_per_second": round(run.executions / args.seconds, 1),
        "corpus_files": run.corpus_files,
        "corpus_kib": round(run.corpus_bytes / 1024),
        "clean_exit": run.returncode == 0 and not run.crashes,
        "crash_inputs": [str(path) for path in run.crashes],
        "workdir": str(workdir),
    }
    print(json.dumps(figures, indent=2))
    if not figures["clean_exit"]:
        print(run.output[-4000:], file=sys.stderr)
    return 0 if figures["clean_exit"] else 1


if __name__ == "__main__":
    sys.exit(main())
