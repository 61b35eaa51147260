"""`headpix hold place|release`: legal holds on a customer's data."""

from __future__ import annotations

import argparse

from headpix.app.commands._common import add_json, emit, services
from headpix.clock import parse_time
from headpix.inventory import CATEGORIES
from headpix.privacy import holds


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("hold", help="legal holds")
    sub = group.add_subparsers(dest="hold_command", required=True)
    place = sub.add_parser("place", help="keep a customer's data from erasure while a case is open")
    place.add_argument("--customer", required=True, help="customer id")
    place.add_argument("--case", required=True, help="case reference")
    place.add_argument("--review-by", required=True, help="DATE or TIME (ISO-8601, UTC)")
    place.add_argument(
        "--scope", nargs="+", choices=CATEGORIES, default=[], help="inventory categories (default: all)"
    )
    place.add_argument("--as-of", help=argparse.SUPPRESS)
    add_json(place)
    place.set_defaults(handler=place_hold)
    release = sub.add_parser("release", help="release a hold and finish the erasures waiting on it")
    release.add_argument("hold_id")
    release.add_argument("--as-of", help=argparse.SUPPRESS)
    add_json(release)
    release.set_defaults(handler=release_hold)


def place_hold(args: argparse.Namespace) -> int:
    hold_id = holds.place(
        services(),
        customer_id=args.customer,
        case_ref=args.case,
        review_by=parse_time(args.review_by),
        scope=args.scope,
        now=parse_time(args.as_of) if args.as_of else None,
    )
    emit(args, {"hold_id": hold_id}, hold_id)
    return 0


def release_hold(args: argparse.Namespace) -> int:
    released = holds.release(services(), args.hold_id, now=parse_time(args.as_of) if args.as_of else None)
    text = f"hold {released.hold_id} released; erasures: " + (
        ", ".join(f"{k} {v}" for k, v in released.erasures.items()) or "none waiting"
    )
    emit(args, {"hold_id": released.hold_id, "erasures": released.erasures}, text)
    return 0
