"""`headpix compliance report [--as-of TIME] [--json]`: the operators' compliance report."""

from __future__ import annotations

import argparse

from headpix.app.commands._common import add_json, emit, services
from headpix.clock import parse_time
from headpix.compliance import build_report
from schemas.models import utcnow


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("compliance", help="compliance reporting")
    sub = group.add_subparsers(dest="compliance_command", required=True)
    report = sub.add_parser("report", help="open requests, overdue erasures, holds, leftovers, notices")
    report.add_argument("--as-of", help="ISO-8601 time (UTC unless a zone is given)")
    add_json(report)
    report.set_defaults(handler=show_report)


def show_report(args: argparse.Namespace) -> int:
    now = parse_time(args.as_of) if args.as_of else utcnow()
    report = build_report(services(), now)
    emit(args, report.to_json(), report.markdown())
    return 0
