"""`headpix shoot start|status|resume|cancel`."""

from __future__ import annotations

import argparse
import sys
import time

from headpix.app import runner
from headpix.app.commands._common import add_json, emit, photos_from_folder, services
from headpix.errors import CommandError, UsageError
from headpix.services import Services
from headpix.shoots import FINAL, shoot_report
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
    _add_wait(start)
    add_json(start)
    start.set_defaults(handler=start_shoot)

    for name, handler, text in (
        ("status", status, "show a shoot"),
        ("resume", resume, "resume a crashed shoot where it stopped"),
        ("cancel", cancel, "cancel a shoot and delete its originals"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("shoot_id")
        if name == "resume":
            _add_wait(cmd)
        add_json(cmd)
        cmd.set_defaults(handler=handler)


def _add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait", action="store_true", help="follow the shoot to its end, showing stage and training progress"
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds --wait follows at most")


def progress_line(report: ShootReport) -> str:
    line = f"shoot {report.shoot_id}: {report.status.value}"
    if report.status is ShootStatus.training and report.progress_total:
        line += f" (step {report.progress_step}/{report.progress_total})"
    if report.attempt:
        line += f", attempt {report.attempt + 1}"
    return line


def follow(svc: Services, shoot_id: str, *, timeout_s: float, poll_s: float = 1.0) -> ShootReport:
    """Print each change of stage or progress (stderr) until the shoot ends or the timeout passes."""
    deadline = time.monotonic() + timeout_s
    shown = ""
    while True:
        report = shoot_report(svc, shoot_id)
        line = progress_line(report)
        if line != shown:
            print(line, file=sys.stderr, flush=True)
            shown = line
        if report.status in FINAL:
            return report
        if time.monotonic() > deadline:
            raise CommandError(
                f"shoot {shoot_id} still {report.status.value} after {timeout_s:.0f} s; it goes on: "
                f"`headpix shoot status {shoot_id}` shows it",
                code="wait_timeout",
            )
        time.sleep(poll_s)


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
    if args.wait:
        follow(svc, shoot_id, timeout_s=args.timeout)
    return _emit_report(args, shoot_id)


def status(args: argparse.Namespace) -> int:
    return _emit_report(args, args.shoot_id)


def resume(args: argparse.Namespace) -> int:
    svc = services()
    runner.resume(svc, args.shoot_id)
    if args.wait:
        follow(svc, args.shoot_id, timeout_s=args.timeout)
    return _emit_report(args, args.shoot_id)


def cancel(args: argparse.Namespace) -> int:
    runner.cancel(services(), args.shoot_id)
    _emit_report(args, args.shoot_id)
    return 0
