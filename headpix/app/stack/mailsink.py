"""A local stand-in for SendGrid's API: records `POST /v3/mail/send` to a JSON-lines file.

Fault tests steer it through `POST /control/fail` with ``{"count": N, "mode": "500"|"429"|"hang"}``:
the next N sends fail that way (a hang holds the request ``hang_s`` seconds, then drops it; with
``"accept": true`` it records the message first, as a provider that hung after accepting it).
``"to"`` limits the failures to one recipient (concurrent shoots, one fault each);
``"retry_after"`` is the ``Retry-After`` seconds a 429 or 500 carries (default 1).
`POST /control/rate` ``{"seed": S, "rate": 0.1, "modes": ["500", "429"], "prefix": ""}`` fails a
share of the sends to recipients starting with ``prefix`` (load tests): a hash of (seed,
recipient, subject, attempt) decides, so a seed replays.
`GET /control/sent` returns how many messages were recorded, `GET /control/stats` how many
sends were refused by the rate. Loopback only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Failure:
    mode: str  # "500", "429" or "hang"
    to: str  # one recipient, or "" for any message
    hang_s: float
    accept: bool  # hang after recording the message (the provider accepted it)
    retry_after: str


class MailSink:
    def __init__(self, record_file: Path):
        self.file = record_file
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.failures: list[Failure] = []
        self.seed, self.rate = 0, 0.0
        self.modes: tuple[str, ...] = ("500",)
        self.prefix = ""  # the rate applies to recipients starting with it
        self.attempts: dict[str, int] = {}
        self.injected = 0
        self.sent = sum(1 for _ in self.file.open(encoding="utf-8")) if self.file.exists() else 0

    def control(self, body: dict[str, Any]) -> None:
        mode = str(body.get("mode", "500"))
        if mode not in ("500", "429", "hang"):
            raise ValueError("mode must be 500, 429 or hang")
        failure = Failure(
            mode,
            str(body.get("to", "")),
            float(body.get("hang_s", 30.0)),
            bool(body.get("accept", False)),
            str(int(body.get("retry_after", 1))),
        )
        with self.lock:
            kept = [f for f in self.failures if failure.to and f.to != failure.to]  # others' stay
            self.failures = kept + [failure] * int(body.get("count", 1))

    def set_rate(self, body: dict[str, Any]) -> None:
        modes = tuple(str(m) for m in body.get("modes", ["500"]))
        if not modes or not set(modes) <= {"500", "429"}:
            raise ValueError("modes must be among 500 and 429")
        with self.lock:
            self.seed, self.rate, self.modes = int(body.get("seed", 0)), float(body.get("rate", 0.0)), modes
            self.prefix = str(body.get("prefix", ""))

    def next_failure(self, message: dict[str, Any]) -> Failure | None:
        recipients = {
            str(to.get("email", "")) for p in message.get("personalizations", []) for to in p.get("to", [])
        }
        with self.lock:
            for index, failure in enumerate(self.failures):
                if not failure.to or failure.to in recipients:
                    del self.failures[index]
                    return failure
            if self.rate <= 0 or not any(r.startswith(self.prefix) for r in recipients):
                return None
            key = f"{sorted(recipients)}|{message.get('subject', '')}"
            self.attempts[key] = attempt = self.attempts.get(key, 0) + 1
            digest = hashlib.sha256(f"{self.seed}|send|{key}|{attempt}".encode()).digest()
            if int.from_bytes(digest[:8], "big") / 2.0**64 >= self.rate:
                return None
            self.injected += 1
            return Failure(self.modes[digest[8] % len(self.modes)], "", 0.0, False, "1")

    def record(self, message: dict[str, Any]) -> int:
        with self.lock:
            self.sent += 1
            with self.file.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"n": self.sent, "at": time.time(), "message": message}) + "\n")
            return self.sent


def handler_for(sink: MailSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(
            self, code: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body or {}).encode()
            self.send_response(code)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", "0"))
            return dict(json.loads(self.rfile.read(length) or b"{}"))

        def do_GET(self) -> None:
            if self.path == "/health":
                self._reply(200, {"ok": True})
            elif self.path == "/control/sent":
                self._reply(200, {"sent": sink.sent})
            elif self.path == "/control/stats":
                self._reply(200, {"sent": sink.sent, "injected": sink.injected, "seed": sink.seed})
            else:
                self._reply(404)

        def do_POST(self) -> None:
            if self.path in ("/control/fail", "/control/rate"):
                try:
                    (sink.control if self.path == "/control/fail" else sink.set_rate)(self._body())
                except (ValueError, TypeError) as error:
                    self._reply(400, {"error": str(error)})
                    return
                self._reply(200, {"ok": True})
                return
            if self.path != "/v3/mail/send":
                self._reply(404)
                return
            body = self._body()
            if not self.headers.get("Authorization", "").startswith("Bearer "):
                self._reply(401, {"errors": [{"message": "missing API key"}]})
                return
            failure = sink.next_failure(body)
            if failure is not None and failure.mode == "hang":
                if failure.accept:
                    sink.record(body)
                time.sleep(failure.hang_s)
                self.close_connection = True
                return
            if failure is not None:
                self._reply(
                    int(failure.mode),
                    {"errors": [{"message": f"injected {failure.mode}"}]},
                    {"Retry-After": failure.retry_after},
                )
                return
            number = sink.record(body)
            self._reply(202, headers={"X-Message-Id": f"local-{number}"})

        def log_message(self, format: str, *args: Any) -> None:
            return  # bodies and addresses stay in the record file only

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", type=Path, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(MailSink(args.file)))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
