"""`headpix mail resend MESSAGE_ID`: an operator sends a ``needs_attention`` message again."""

from __future__ import annotations

import argparse
import json

from headpix.app.commands._common import services
from headpix.outbox import resend


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("mail", help="the outbox: messages that need an operator")
    sub = group.add_subparsers(dest="mail_command", required=True)
    again = sub.add_parser(
        "resend",
        help="send a needs_attention message again (the provider may already have it: "
        "check its activity log first, or the customer may get it twice)",
    )
    again.add_argument("message_id")
    again.add_argument("--json", action="store_true")
    again.set_defaults(handler=resend_message)


def resend_message(args: argparse.Namespace) -> int:
    outcome = resend(services(), args.message_id)
    if args.json:
        print(json.dumps({"message_id": args.message_id, "status": outcome.status, "where": outcome.where}))
    else:
        print(f"outbox message {args.message_id}: {outcome.status}")
    return 0 if outcome.status in ("sent", "held", "suppressed") else 1
