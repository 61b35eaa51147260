"""`headpix retention sweep [--as-of TIME] [--json]`: run the retention sweep as of a time."""

from __future__ import annotations

import argparse

from headpix import retention
from headpix.app.commands._common import add_json, emit, services
from headpix.clock import parse_time
from schemas.models import utcnow


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("retention", help="retention sweep")
    sub = group.add_subparsers(dest="retention_command", required=True)
    sweep = sub.add_parser("sweep", help="run the retention sweep once")
    sweep.add_argument("--as-of", help="ISO-8601 time (UTC unless a zone is given; a date is midnight UTC)")
    add_json(sweep)
    sweep.set_defaults(handler=run_sweep)


def run_sweep(args: argparse.Namespace) -> int:
    now = parse_time(args.as_of) if args.as_of else utcnow()
    result = retention.sweep(services(), now).to_json()
    lines = [f"retention sweep as of {now.isoformat()}"] + [f"  {k}: {v}" for k, v in result.items()]
    emit(args, {"as_of": now.isoformat(), **result}, "\n".join(lines))
    return 0
