"""`headpix`: the command line for customers (demo, shoots), operators and compliance."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence

from headpix.errors import HeadpixError
from headpix.internal_error import report_internal_error
from headpix.services import get_services
from headpix.settings import SettingsError, get_settings

COMMAND_MODULES = (
    "db",
    "demo",
    "shoot",
    "gallery",
    "photos",
    "privacy",
    "keys",
    "retention",
    "hold",
    "policy",
    "consent",
    "compliance",
    "mail",
    "web",
    "stack",
)

# Commands that run before, or without, the database: production's schema check skips them.
NEEDS_NO_SCHEMA = frozenset({"db", "keys", "photos"})


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 2 and, with --json, print the documented error object."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if "--json" in sys.argv:
            print(json.dumps({"error": "usage", "message": message}))
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="headpix", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"headpix.app.commands.{name}")
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    as_json = bool(getattr(args, "json", False))
    try:
        settings = get_settings()  # in production this refuses placeholder secrets
        if settings.environment == "production" and args.command not in NEEDS_NO_SCHEMA:
            get_services().migrate()  # production: checks the schema is at head, never migrates
        return int(args.handler(args))
    except (HeadpixError, SettingsError) as error:
        code = getattr(error, "code", "invalid_settings")
        message = getattr(error, "message", str(error))
        exit_code = getattr(error, "exit_code", 2)
        if as_json:
            print(json.dumps({"error": code, "message": message}))
        print(f"headpix: {message}", file=sys.stderr)
        return int(exit_code)
    except Exception as error:
        return report_internal_error(error, as_json=as_json)


if __name__ == "__main__":
    sys.exit(main())
