"""`headpix stack up|down|status|env|ui-check`: the production shape on this machine, loopback only."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from headpix.app.stack import supervisor
from headpix.app.stack.env import client_env, render_exports
from headpix.app.stack.layout import StackLayout
from headpix.app.stack.procs import StackError
from headpix.errors import CommandError
from headpix.settings import get_settings


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("stack", help="run PostgreSQL, Prefect, Ray, S3 and mail on loopback")
    sub = group.add_subparsers(dest="stack_command", required=True)
    for name, handler, text in (
        ("up", up, "start every component; prints the client settings as export lines"),
        ("down", down, "stop our processes by pid and drop the private PostgreSQL cluster"),
        ("status", status, "each component, its address and health"),
        ("env", env, 'print the client settings again: eval "$(headpix stack env)"'),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--json", action="store_true", help="print one JSON object")
        cmd.set_defaults(handler=handler)
    check = sub.add_parser("ui-check", help="open the Prefect UI headless and check a photoshoot run")
    check.add_argument("shoot_id", help="a shoot run on this stack")
    check.add_argument("--forbid", action="append", default=[], help="text that must not appear (repeat)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(handler=ui_check)


def _layout() -> StackLayout:
    return StackLayout(get_settings().state_dir)


def _state_or_refuse(layout: StackLayout) -> supervisor.StackState:
    state = layout.load()
    if state is None:
        raise CommandError(f"no stack in {layout.root}; start one with `headpix stack up`", code="no_stack")
    return state


def up(args: argparse.Namespace) -> int:
    layout = _layout()
    try:
        state = supervisor.up(layout)
    except StackError as error:
        raise CommandError(str(error), code="stack_failed") from None
    print(render_exports(client_env(layout, state)))
    print(f"# Prefect UI: {supervisor.ui_url(state)}   logs: {layout.logs}")
    return 0


def down(args: argparse.Namespace) -> int:
    stopped = supervisor.down(_layout())
    print(json.dumps({"stopped": stopped}) if args.json else f"stopped: {', '.join(stopped) or 'nothing'}")
    return 0


def status(args: argparse.Namespace) -> int:
    layout = _layout()
    state = _state_or_refuse(layout)
    report = supervisor.status(layout)
    if args.json:
        print(json.dumps({"ui": supervisor.ui_url(state), "components": [asdict(h) for h in report]}))
    else:
        width = max((len(h.address) for h in report), default=0)
        for health in report:
            mark = "ok" if health.healthy else "DOWN"
            print(f"{health.component:16} {mark:5} {health.address:{width}} pid {health.pid or '-'}")
        print(f"Prefect UI: {supervisor.ui_url(state)}")
    return 0 if all(h.healthy for h in report) else 1


def env(args: argparse.Namespace) -> int:
    layout = _layout()
    values = client_env(layout, _state_or_refuse(layout))
    print(json.dumps(values) if args.json else render_exports(values))
    return 0


def ui_check(args: argparse.Namespace) -> int:
    from headpix.app.stack.uicheck import check_run_page

    layout = _layout()
    result = check_run_page(layout, _state_or_refuse(layout), args.shoot_id, forbidden=args.forbid)
    print(json.dumps(asdict(result)) if args.json else result.summary())
    return 0 if result.passed else 1
