"""`headpix privacy verify|receipt …`: proof that an erasure left nothing behind."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sqlalchemy import select

from headpix.app.commands._common import add_json, emit, services
from headpix.errors import CommandError, NotFound
from headpix.privacy import receipts
from schemas.privacy import DeletionReceipt


def register_into(sub: argparse._SubParsersAction) -> None:
    verify = sub.add_parser("verify", help="check that an erased subject left no residue")
    verify.add_argument("--request", required=True, dest="request_id")
    add_json(verify)
    verify.set_defaults(handler=verify_residue)

    receipt = sub.add_parser("receipt", help="deletion receipts")
    rsub = receipt.add_subparsers(dest="receipt_command", required=True)
    show = rsub.add_parser("show", help="print the signed receipt of an erasure request")
    show.add_argument("request_id")
    show.set_defaults(handler=show_receipt)
    check = rsub.add_parser("verify", help="check a receipt's signature")
    check.add_argument("file")
    check.add_argument("--public-key", help="base64 Ed25519 key (default: the configured one)")
    check.set_defaults(handler=verify_receipt)
    public = rsub.add_parser("public-key", help="print the receipt-signing public key")
    public.set_defaults(handler=print_public_key)


def verify_residue(args: argparse.Namespace) -> int:
    from headpix.privacy.erasure import verify_request

    result = verify_request(services(), args.request_id)
    text = "no residue found" if result["clean"] else f"RESIDUE FOUND: {json.dumps(result)}"
    emit(args, {"request_id": args.request_id, **result}, text)
    return 0 if result["clean"] else 1


def show_receipt(args: argparse.Namespace) -> int:
    svc = services()
    with svc.db.session() as session:
        row = session.scalar(select(DeletionReceipt).where(DeletionReceipt.request_id == args.request_id))
        if row is None:
            raise NotFound(f"no receipt for request {args.request_id} (is the erasure completed?)")
        print(json.dumps(row.receipt, indent=2, sort_keys=True))
    return 0


def verify_receipt(args: argparse.Namespace) -> int:
    try:
        signed = json.loads(Path(args.file).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CommandError(f"cannot read receipt {args.file}: {error}", code="usage", exit_code=2) from None
    key = args.public_key or receipts.public_key_text(services().settings)
    if receipts.verify(signed, key):
        print(f"receipt for request {signed['receipt'].get('request_id')} is valid")
        return 0
    print("receipt is NOT valid: altered, or signed by another key")
    return 1


def print_public_key(args: argparse.Namespace) -> int:
    print(receipts.public_key_text(services().settings))
    return 0
