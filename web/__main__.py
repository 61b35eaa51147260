"""`python -m web [--port N]`: serve the web layer on 127.0.0.1 (what `headpix web` runs)."""

from __future__ import annotations

import argparse

from web.app import serve

parser = argparse.ArgumentParser(prog="headpix web", description="serve the customer's web pages and API")
parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default loopback)")
parser.add_argument("--port", type=int, default=8000)
args = parser.parse_args()
serve(host=args.host, port=args.port)
