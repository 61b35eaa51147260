"""`headpix gallery export SHOOT_ID DIR`, `headpix gallery link SHOOT_ID --new`."""

from __future__ import annotations

import argparse
from pathlib import Path

from headpix import gallery, gallery_links
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
    link = sub.add_parser(
        "link", help="mail the customer a new gallery link (it is never printed: only they get it)"
    )
    link.add_argument("shoot_id")
    link.add_argument("--new", action="store_true", required=True, help="mint and mail a new link")
    link.set_defaults(handler=mail_new_link)


def export_gallery(args: argparse.Namespace) -> int:
    svc = services()
    with svc.db.session() as session:
        shoot = load_shoot(session, args.shoot_id)
        written = gallery.export(shoot, svc.store, Path(args.folder))
    if not written:
        raise CommandError(f"shoot {args.shoot_id} has no rendered headshots yet", code="no_headshots")
    print(f"{len(written)} headshots written to {Path(args.folder).resolve()}")
    return 0


def mail_new_link(args: argparse.Namespace) -> int:
    outcome = gallery_links.send_new_link(services(), args.shoot_id)
    print(f"shoot {args.shoot_id}: a new gallery link was mailed to the customer ({outcome.status})")
    return 0 if outcome.status in ("sent", "held") else 1
