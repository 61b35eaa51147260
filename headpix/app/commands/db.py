"""`headpix db upgrade`: apply migrations."""

from __future__ import annotations

import argparse

from headpix.app.commands._common import services


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("db", help="database maintenance")
    sub = group.add_subparsers(dest="db_command", required=True)
    up = sub.add_parser("upgrade", help="apply all migrations")
    up.set_defaults(handler=upgrade)


def upgrade(args: argparse.Namespace) -> int:
    svc = services()
    svc.migrate(deploy=True)
    print(f"database at revision head ({svc.db.engine.url.render_as_string(hide_password=True)})")
    return 0
