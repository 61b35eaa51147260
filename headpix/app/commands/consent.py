"""`headpix consent withdraw --email ADDRESS --version VERSION`: withdraw in the notice window."""

from __future__ import annotations

import argparse

from headpix.app.commands._common import add_json, emit, services
from headpix.clock import parse_time
from headpix.policy import withdraw_consent


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("consent", help="consent to the privacy policy")
    sub = group.add_subparsers(dest="consent_command", required=True)
    withdraw = sub.add_parser("withdraw", help="withdraw consent to a new version; schedules erasure")
    withdraw.add_argument("--email", required=True)
    withdraw.add_argument("--version", required=True)
    withdraw.add_argument("--as-of", help=argparse.SUPPRESS)
    add_json(withdraw)
    withdraw.set_defaults(handler=withdraw_command)


def withdraw_command(args: argparse.Namespace) -> int:
    now = parse_time(args.as_of) if args.as_of else None
    result = withdraw_consent(services(), args.email, args.version, now=now)
    text = (
        f"consent to policy {result.version} withdrawn; erasure request {result.request_id} "
        f"({result.status}) completes by {result.due_at} once confirmed from the email we sent"
    )
    emit(args, result.to_json(), text)
    return 0
