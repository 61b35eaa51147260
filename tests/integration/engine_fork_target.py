"""A stand-in for ``prefect.engine`` in the engine-fork tests: what it does is chosen by the
client's environment (``TARGET_MODE``), so that one server serves every test."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def _write_pid() -> None:
    Path(os.environ["TARGET_PID_FILE"]).write_text(str(os.getpid()), encoding="utf-8")


def main() -> None:
    mode = os.environ.get("TARGET_MODE", "echo")
    if mode == "echo":
        line = sys.stdin.readline().strip()
        seen = {
            "mark": os.environ.get("TARGET_MARK"),
            "cwd": os.getcwd(),
            "argv": sys.argv[1:],
            "stdin": line,
        }
        print(json.dumps(seen), flush=True)
        print("to standard error", file=sys.stderr, flush=True)
        sys.exit(3)
    if mode == "terminated":

        def on_term(_sig: int, _frame: object) -> None:
            print("terminated gracefully", flush=True)
            sys.exit(7)

        signal.signal(signal.SIGTERM, on_term)
    if mode == "abort":
        os.abort()
    _write_pid()
    print("ready", flush=True)
    time.sleep(120)


main()
