"""`headpix shoot start|status|resume|cancel`."""

from __future__ import annotations

import argparse

from headpix.app import runner
from headpix.app.commands._common import add_json, emit, photos_from_folder, services
from headpix.errors import UsageError
from headpix.shoots import shoot_report
from schemas.api import CustomerSignup, Gender, Preferences, ShootReport, ShootStatus


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("shoot", help="run and steer photoshoots")
    sub = group.add_subparsers(dest="shoot_command", required=True)

    start = sub.add_parser("start", help="register the customer and run one photoshoot")
    start.add_argument("--email", required=True)
    start.add_argument("--name", required=True)
    start.add_argument("--gender", required=True, help="woman, man or nonbinary")
    start.add_argument("--preferences", help="JSON object; keys: " + ", ".join(Preferences.model_fields))
    start.add_argument("--photos", required=True, help="folder of selfies")
    start.add_argument(
        "--skip-rejected", action="store_true", help="go on with the usable photos when some are refused"
    )
    add_json(start)
    start.set_defaults(handler=start_shoot)

    for name, handler, text in (
        ("status", status, "show a shoot"),
        ("resume", resume, "resume a crashed shoot where it stopped"),
        ("cancel", cancel, "cancel a shoot and delete its originals"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("shoot_id")
        add_json(cmd)
        cmd.set_defaults(handler=handler)


def render(report: ShootReport) -> str:
    lines = [f"shoot {report.shoot_id}: {report.status.value}"]
    if report.detail:
        lines.append(f"  {report.detail}")
    for style, count in sorted(report.per_style.items()):
        lines.append(f"  {style}: {count} headshots")
    if report.gallery_link_sent:
        lines.append(f"  gallery link: sent by mail, expires {report.gallery_link_expires_at}")
    if report.email:
        lines.append(f"  email: {report.email}")
    for photo in report.rejected_photos:
        lines.append(f"  refused {photo['file']}: {', '.join(photo['reasons'])}")
    if report.stage_seconds:
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in report.stage_seconds.items())
        lines.append(f"  stages: {timings}")
    return "\n".join(lines)


def _emit_report(args: argparse.Namespace, shoot_id: str) -> int:
    report = shoot_report(services(), shoot_id)
    emit(args, report.model_dump(mode="json"), render(report))
    return 0 if report.status not in (ShootStatus.failed, ShootStatus.cancelled) else 1


def start_shoot(args: argparse.Namespace) -> int:
    svc = services()
    try:
        signup = CustomerSignup(
            name=args.name,
            email=args.email,
            gender=Gender.parse(args.gender),
            preferences=Preferences.parse_json(args.preferences),
        )
    except ValueError as error:
        raise UsageError(
            str(error).splitlines()[-1] if str(error) else "invalid input", code="invalid_customer"
        ) from None
    photos = photos_from_folder(args.photos, svc)
    shoot_id = runner.start_shoot(svc, signup, photos, skip_rejected=args.skip_rejected)
    return _emit_report(args, shoot_id)


def status(args: argparse.Namespace) -> int:
    return _emit_report(args, args.shoot_id)


def resume(args: argparse.Namespace) -> int:
    runner.resume(services(), args.shoot_id)
    return _emit_report(args, args.shoot_id)


def cancel(args: argparse.Namespace) -> int:
    runner.cancel(services(), args.shoot_id)
    _emit_report(args, args.shoot_id)
    return 0
