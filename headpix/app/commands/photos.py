"""`headpix photos check PATH... [--json]`: the validate stage's checks on local files."""

from __future__ import annotations

import argparse
import json

from headpix.intake import IntakeRules, check_photos, collect_files, scanner_from_settings
from headpix.intake.report import render_table
from headpix.settings import get_settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `photos` command group."""
    photos = commands.add_parser("photos", help="check photos before a shoot")
    actions = photos.add_subparsers(dest="photos_command", required=True)
    check = actions.add_parser("check", help="check photos the way the validate stage does")
    check.add_argument("paths", nargs="+", metavar="PATH", help="photo files, or folders of photos")
    check.add_argument("--json", action="store_true", help='print {"photos": [...], "reasons": [...]}')
    check.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace) -> int:
    """Check the photos; exit 0 when all are accepted, 1 when any is rejected."""
    settings = get_settings()
    rules = IntakeRules.from_settings(settings)
    inputs = collect_files(list(args.paths), rules)
    report = check_photos(inputs, rules, scanner=scanner_from_settings(settings))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render_table(report, rules))
    return 0 if report.accepted else 1
