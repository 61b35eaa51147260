"""`headpix policy publish VERSION --effective TIME --text FILE`: publish and notify customers."""

from __future__ import annotations

import argparse
from pathlib import Path

from headpix import policy
from headpix.app.commands._common import add_json, emit, services
from headpix.clock import parse_time
from headpix.errors import UsageError
from headpix.services import configure_runtime_environment
from schemas.models import utcnow


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("policy", help="privacy policy versions")
    sub = group.add_subparsers(dest="policy_command", required=True)
    publish = sub.add_parser("publish", help="publish a version (at least 14 days ahead) and notify")
    publish.add_argument("version")
    publish.add_argument("--effective", required=True, help="TIME it takes effect (ISO-8601, UTC)")
    publish.add_argument("--text", required=True, help="file with the policy text")
    publish.add_argument("--as-of", help="publication TIME (default now)")
    add_json(publish)
    publish.set_defaults(handler=publish_policy)


def publish_policy(args: argparse.Namespace) -> int:
    path = Path(args.text)
    if not path.is_file():
        raise UsageError(f"policy text file {args.text} does not exist", code="text_not_found")
    svc = services()
    now = parse_time(args.as_of) if args.as_of else utcnow()
    published = policy.publish(
        svc, args.version, effective_at=parse_time(args.effective), text=path.read_text(), now=now
    )
    if svc.settings.launcher == "deployments":
        # A policy-notices deployment run sends them; its logs carry the count.
        svc.launcher.send_policy_notices(args.version)
        data = {**published.to_json(), "notices_sent": None, "notices": "queued"}
        emit(args, data, f"policy {args.version} effective {published.effective_at}; notices queued")
        return 0
    configure_runtime_environment(svc.settings)
    from flows.policy import policy_notices

    sent = policy_notices(args.version)
    data = {**published.to_json(), "notices_sent": sent}
    emit(args, data, f"policy {args.version} effective {published.effective_at}; {sent} notices sent")
    return 0
