"""`headpix keys init`: make the receipt-signing key, and say where to keep it."""

from __future__ import annotations

import argparse
from pathlib import Path

from headpix.app.commands._common import services
from headpix.privacy import receipts


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("keys", help="signing keys")
    sub = group.add_subparsers(dest="keys_command", required=True)
    init = sub.add_parser("init", help="create the Ed25519 key that signs deletion receipts")
    init.add_argument(
        "--out", default=None, help="where to write it (default: where the embedded default looks)"
    )
    init.set_defaults(handler=init_key)


def init_key(args: argparse.Namespace) -> int:
    path = receipts.init_key(
        Path(args.out).expanduser() if args.out else services().settings.receipt_key_path
    )
    print(f"receipt signing key written to {path} (mode 600)")
    print("Keep it outside the state dir and out of database backups, e.g. in a secret manager.")
    print(f"Then set: export HEADPIX_RECEIPT_SIGNING_KEY_FILE={path}")
    return 0
