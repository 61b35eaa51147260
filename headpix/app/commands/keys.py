"""`headpix keys init`: make the receipt-signing key, and say where to keep it."""

from __future__ import annotations

import argparse
from pathlib import Path

from headpix.privacy import receipts

DEFAULT = Path("~/.config/headpix/receipt-signing-key.pem")


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("keys", help="signing keys")
    sub = group.add_subparsers(dest="keys_command", required=True)
    init = sub.add_parser("init", help="create the Ed25519 key that signs deletion receipts")
    init.add_argument("--out", default=str(DEFAULT), help=f"where to write it (default {DEFAULT})")
    init.set_defaults(handler=init_key)


def init_key(args: argparse.Namespace) -> int:
    path = receipts.init_key(Path(args.out).expanduser())
    print(f"receipt signing key written to {path} (mode 600)")
    print("Keep it outside the state dir and out of database backups, e.g. in a secret manager.")
    print(f"Then set: export HEADPIX_RECEIPT_SIGNING_KEY_FILE={path}")
    return 0
