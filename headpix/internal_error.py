"""The last line of the CLI (and later the web layer): an unexpected error, told safely.

The user sees the documented ``{"error": "internal", "message": …}`` form and an incident id,
never a traceback. The traceback goes to the log at verbose level only, and without exception
messages: those of a database driver can quote the row being written (an address, a name).
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import traceback

log = logging.getLogger("headpix.internal")

EXIT_INTERNAL = 70  # EX_SOFTWARE from sysexits.h


def redacted_traceback(error: BaseException) -> str:
    """The frames and exception types of ``error`` and its causes, without any message text."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)
        lines.append(f"{type(current).__module__}.{type(current).__qualname__} (message withheld)")
        lines += [f"  {frame.filename}:{frame.lineno} in {frame.name}" for frame in frames]
        current = current.__cause__ or current.__context__
        if current is not None:
            lines.append("raised while handling, or caused by:")
    return "\n".join(lines)


def report_internal_error(error: BaseException, *, as_json: bool) -> int:
    """Tell the user an unexpected error stopped the command; log the details for operators."""
    incident = secrets.token_hex(4)
    message = (
        f"an unexpected error stopped this command (incident {incident}). Run it again; if it "
        f"fails again, run it with -v and give the operators the log lines of incident {incident}."
    )
    log.info("incident %s: %s", incident, redacted_traceback(error))
    if as_json:
        print(json.dumps({"error": "internal", "message": message}))
    print(f"headpix: {message}", file=sys.stderr)
    return EXIT_INTERNAL
