"""`headpix privacy request|confirm|status|lift|export`: data-subject requests.

Exit 0 on success, 1 when refused (expired or reused token, transition not allowed,
unknown request), 2 on usage error. With --json each prints one JSON object.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from pathlib import Path

from headpix.app.commands._common import add_json, emit, services
from headpix.errors import UsageError
from headpix.privacy import requests
from headpix.privacy.requests import RequestRefused, RequestType, RequestView
from schemas.models import utcnow

PROOF_MODULE = "headpix.app.commands.privacy_proof"


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("privacy", help="data-subject requests: access, erasure, restriction, …")
    sub = group.add_subparsers(dest="privacy_command", required=True)

    request = sub.add_parser("request", help="submit a request; a confirmation token is mailed")
    request.add_argument("type", choices=[t.value for t in RequestType])
    request.add_argument("--email", required=True, help="the address the account is registered with")
    request.add_argument(
        "--scope",
        default=None,
        help="erasure only: shoot:ID, headshots, identity_models, preferences or marketing (default: all)",
    )
    request.add_argument(
        "--set",
        dest="changes",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="rectification only: name, email, gender, or preferences (a JSON object)",
    )
    add_json(request)
    request.set_defaults(handler=submit_request)

    confirm = sub.add_parser("confirm", help="confirm a request with the mailed token and carry it out")
    confirm.add_argument("request_id")
    confirm.add_argument("--token", required=True)
    add_json(confirm)
    confirm.set_defaults(handler=confirm_request)

    status = sub.add_parser("status", help="show a request")
    status.add_argument("request_id")
    add_json(status)
    status.set_defaults(handler=show_status)

    lift = sub.add_parser("lift", help="end a restriction of processing; paused shoots resume")
    lift.add_argument("request_id")
    add_json(lift)
    lift.set_defaults(handler=lift_restriction)

    export = sub.add_parser("export", help="write the archive of an access or portability request")
    export.add_argument("request_id")
    export.add_argument("--to", required=True, metavar="DIR", help="folder to write the zip into")
    add_json(export)
    export.set_defaults(handler=write_export)

    # Proof commands (verify, receipt, keys) live in their own module when it is present.
    if importlib.util.find_spec(PROOF_MODULE) is not None:
        importlib.import_module(PROOF_MODULE).register_into(sub)


def _text(view: RequestView) -> str:
    lines = [f"request {view.request_id} ({view.type}): {view.status}"]
    if view.due_at:
        lines.append(f"  due: {view.due_at}")
    if view.completed_at:
        lines.append(f"  completed: {view.completed_at}")
    return "\n".join(lines)


def submit_request(args: argparse.Namespace) -> int:
    type_ = RequestType(args.type)
    if args.changes and type_ is not RequestType.rectification:
        raise UsageError("--set is only for a rectification request", code="usage")
    try:
        changes = requests.parse_changes(args.changes) if args.changes else None
    except ValueError as error:  # preferences that are not JSON
        raise UsageError(f"--set preferences: not valid JSON ({error})", code="usage") from None
    if changes:
        from headpix.privacy.rectification import validate_changes

        try:
            validate_changes(changes)
        except RequestRefused as error:
            raise UsageError(error.message, code="invalid_change") from None
    view = requests.submit(services(), type_, args.email, changes=changes, scope=args.scope)
    data = {k: v for k, v in view.to_json().items() if k != "completed_at"}
    text = _text(view)
    if type_ is not RequestType.objection:
        text += "\n  if the address is on file, a confirmation token has been mailed to it"
    emit(args, data, text)
    return 0


def confirm_request(args: argparse.Namespace) -> int:
    view = requests.confirm(services(), args.request_id, args.token)
    emit(args, view.to_json(), _text(view))
    return 0


def show_status(args: argparse.Namespace) -> int:
    view = requests.status(services(), args.request_id)
    emit(args, view.to_json(), _text(view))
    return 0


def lift_restriction(args: argparse.Namespace) -> int:
    from headpix.privacy.restriction import lift

    svc = services()
    lift(svc, args.request_id, utcnow())
    view = requests.status(svc, args.request_id)
    emit(args, view.to_json(), _text(view) + "\n  restriction lifted")
    return 0


def write_export(args: argparse.Namespace) -> int:
    from headpix.privacy.export import write_export as write

    path = write(services(), args.request_id, Path(args.to))
    emit(args, {"request_id": args.request_id, "path": str(path.resolve())}, f"export written to {path}")
    return 0
