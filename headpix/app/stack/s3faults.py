"""A fault-injecting HTTP proxy in front of moto's S3 server (loopback only), for fault tests.

The stack's clients (CLI, workers, Ray actors) reach S3 through it; with no rule set it passes
every request through unchanged. Tests steer it at run time:

- ``POST /control/faults`` ``{"seed": S, "rules": [rule, ...]}`` replaces the rules; a rule is
  ``{"ops": ["PUT", "GET", "DELETE_OBJECTS", "LIST", "HEAD"], "match": "<substring of the path,
  query or DeleteObjects body>", "mode": "500"|"503"|"reset"|"latency", "rate": 0.1,
  "first": N, "latency_s": 0.5, "name": "..."}``: a matching request fails when it is among the first N
  attempts on its key, or when a hash of (seed, operation, key, attempt) falls under ``rate``;
  so a recorded seed makes the same decisions again for the same keys, whatever the interleaving.
- ``GET /control/stats``: requests seen and faults injected, per operation and mode.

``reset`` cuts the connection mid-body (a GET after half the object, a PUT after reading half of
it), so moto never sees a half-written object; ``latency`` delays the request, then forwards it.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

OPS = ("PUT", "GET", "HEAD", "LIST", "DELETE_OBJECTS", "DELETE", "OTHER")
MODES = ("500", "503", "reset", "latency")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


def operation(method: str, path: str, query: str) -> str:
    """The S3 operation a request stands for, as far as the fault rules care."""
    if method == "POST" and "delete" in query.split("&"):
        return "DELETE_OBJECTS"
    if method == "GET":
        object_key = path.strip("/").partition("/")[2]
        return "GET" if object_key and "versions" not in query else "LIST"
    return method if method in OPS else "OTHER"


def draw(seed: int, op: str, key: str, attempt: int) -> float:
    """A number in [0, 1) fixed by (seed, operation, key, attempt): the run's dice."""
    digest = hashlib.sha256(f"{seed}|{op}|{key}|{attempt}".encode()).digest()
    return float(struct.unpack(">Q", digest[:8])[0]) / 2.0**64


@dataclass
class Rule:
    ops: tuple[str, ...] = ("PUT", "GET", "DELETE_OBJECTS")
    match: str = ""
    mode: str = "500"
    rate: float = 0.0
    first: int = 0
    latency_s: float = 0.5
    name: str = ""  # counted apart in the stats, so a test can tell that its fault fired

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Rule:
        rule = cls(
            ops=tuple(str(o).upper() for o in raw.get("ops", cls.ops)),
            match=str(raw.get("match", "")),
            mode=str(raw.get("mode", "500")),
            rate=float(raw.get("rate", 0.0)),
            first=int(raw.get("first", 0)),
            latency_s=float(raw.get("latency_s", 0.5)),
            name=str(raw.get("name", "")),
        )
        if rule.mode not in MODES or not set(rule.ops) <= set(OPS):
            raise ValueError(f"mode must be one of {MODES}, ops among {OPS}")
        return rule


@dataclass
class Faults:
    seed: int = 0
    rules: list[Rule] = field(default_factory=list)
    attempts: Counter[tuple[str, str]] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, body: dict[str, Any]) -> None:
        rules = [Rule.parse(r) for r in body.get("rules", [])]
        with self.lock:
            # Attempts keep counting across rule changes: keys are ids, new for every shoot.
            self.seed, self.rules = int(body.get("seed", 0)), rules

    def decide(self, op: str, key: str, haystack: str) -> Rule | None:
        """The rule that breaks this request, if any; counts the attempt either way."""
        with self.lock:
            self.seen[op] += 1
            self.attempts[(op, key)] += 1
            attempt = self.attempts[(op, key)]
            for rule in self.rules:
                if op not in rule.ops or rule.match not in haystack:
                    continue
                if attempt <= rule.first or draw(self.seed, op, key, attempt) < rule.rate:
                    self.injected[f"{op}:{rule.mode}"] += 1
                    if rule.name:
                        self.by_rule[rule.name] += 1
                    return rule
            return None

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "seed": self.seed,
                "seen": dict(self.seen),
                "injected": dict(self.injected),
                "by_rule": dict(self.by_rule),
            }


def _read_chunked(rfile: Any) -> bytes:
    """A chunked request body, raw (forwarded as it came)."""
    raw = b""
    while True:
        line = rfile.readline()
        raw += line
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, then the blank line
                trailer = rfile.readline()
                raw += trailer
                if trailer in (b"\r\n", b"\n", b""):
                    return raw
        raw += rfile.read(size + 2)


def handler_for(faults: Faults, upstream_port: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _json(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _control(self) -> bool:
            if not self.path.startswith("/control/"):
                return False
            if self.command == "GET" and self.path == "/control/stats":
                self._json(200, faults.stats())
            elif self.command == "POST" and self.path == "/control/faults":
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    faults.configure(json.loads(self.rfile.read(length) or b"{}"))
                except (ValueError, TypeError, KeyError) as error:
                    self._json(400, {"error": str(error)})
                else:
                    self._json(200, faults.stats())
            else:
                self._json(404, {"error": "unknown control path"})
            return True

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return _read_chunked(self.rfile)
            return self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))

        def _reset(self) -> None:
            """Cut the connection hard (RST), as a dropped network path would."""
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def _error(self, code: int) -> None:
            name = "SlowDown" if code == 503 else "InternalError"
            data = f"<Error><Code>{name}</Code><Message>injected {code}</Message></Error>".encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            if self._control():
                return
            path, _, query = self.path.partition("?")
            op = operation(self.command, path, query)
            if op == "PUT" and self.headers.get("Expect", "").lower() == "100-continue":
                self.send_response_only(100)
                self.end_headers()
            body = self._body()
            key = unquote(path)
            haystack = f"{key}?{unquote(query)}" + (body.decode("latin-1") if op == "DELETE_OBJECTS" else "")
            rule = faults.decide(op, key if op != "DELETE_OBJECTS" else haystack, haystack)
            if rule is not None and rule.mode in ("500", "503"):
                self._error(int(rule.mode))
                return
            if rule is not None and rule.mode == "reset" and op != "GET":
                self._reset()  # the body never reached the store
                return
            if rule is not None and rule.mode == "latency":
                time.sleep(rule.latency_s)
            status, reason, headers, data = self._forward(body)
            self.send_response(status, reason)
            for name, value in headers:
                if name.lower() not in HOP_HEADERS and name.lower() != "content-length":
                    self.send_header(name, value)
            length = headers_length(headers, data, self.command)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if rule is not None and rule.mode == "reset":
                self.wfile.write(data[: len(data) // 2])
                self._reset()
                return
            if self.command != "HEAD":
                self.wfile.write(data)

        def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=120)
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in ("connection", "keep-alive", "expect"):
                        conn.putheader(name, value)
                conn.endheaders(body if body else None)
                response = conn.getresponse()
                data = response.read()
                return response.status, response.reason, response.getheaders(), data
            finally:
                conn.close()

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            return  # keys name customers by id; the stats endpoint is the record

    return Handler


def headers_length(headers: list[tuple[str, str]], data: bytes, method: str) -> int:
    if method == "HEAD":
        for name, value in headers:
            if name.lower() == "content-length":
                return int(value)
        return 0
    return len(data)


def serve(port: int, upstream_port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(Faults(), upstream_port))
    server.daemon_threads = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    args = parser.parse_args()
    serve(args.port, args.upstream_port).serve_forever()


if __name__ == "__main__":
    main()
