"""`headpix web [--port N]`: serve the web layer (the package ``web``, run as its own module).

The application layer never imports ``web`` (web sits above it); it starts it as a program.
"""

from __future__ import annotations

import argparse
import os
import sys


def register(commands: argparse._SubParsersAction) -> None:
    web = commands.add_parser("web", help="serve the customer's web pages and API on 127.0.0.1")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    os.execv(sys.executable, [sys.executable, "-m", "web", "--host", args.host, "--port", str(args.port)])
