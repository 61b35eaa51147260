"""`headpix gallery export SHOOT_ID DIR`."""

from __future__ import annotations

import argparse
from pathlib import Path

from headpix import gallery
from headpix.app.commands._common import services
from headpix.errors import CommandError
from headpix.shoots import load_shoot


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("gallery", help="the customer's headshots")
    sub = group.add_subparsers(dest="gallery_command", required=True)
    export = sub.add_parser("export", help="write a shoot's headshots into a folder")
    export.add_argument("shoot_id")
    export.add_argument("folder")
    export.set_defaults(handler=export_gallery)


def export_gallery(args: argparse.Namespace) -> int:
    svc = services()
    with svc.db.session() as session:
        shoot = load_shoot(session, args.shoot_id)
        written = gallery.export(shoot, svc.store, Path(args.folder))
    if not written:
        raise CommandError(f"shoot {args.shoot_id} has no rendered headshots yet", code="no_headshots")
    print(f"{len(written)} headshots written to {Path(args.folder).resolve()}")
    return 0
