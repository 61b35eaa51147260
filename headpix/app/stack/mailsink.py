"""A local stand-in for SendGrid's API: records `POST /v3/mail/send` to a JSON-lines file.

Fault tests steer it through `POST /control/fail` with ``{"count": N, "mode": "500"|"429"|"hang"}``:
the next N sends fail that way (a hang holds the request ``hang_s`` seconds, then drops it).
`GET /control/sent` returns how many messages were recorded. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class MailSink:
    def __init__(self, record_file: Path):
        self.file = record_file
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.failures: list[str] = []
        self.hang_s = 30.0
        self.sent = sum(1 for _ in self.file.open(encoding="utf-8")) if self.file.exists() else 0

    def control(self, body: dict[str, Any]) -> None:
        mode = str(body.get("mode", "500"))
        if mode not in ("500", "429", "hang"):
            raise ValueError("mode must be 500, 429 or hang")
        with self.lock:
            self.failures = [mode] * int(body.get("count", 1))
            self.hang_s = float(body.get("hang_s", 30.0))

    def next_failure(self) -> str | None:
        with self.lock:
            return self.failures.pop(0) if self.failures else None

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
            else:
                self._reply(404)

        def do_POST(self) -> None:
            if self.path == "/control/fail":
                try:
                    sink.control(self._body())
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
            failure = sink.next_failure()
            if failure == "hang":
                time.sleep(sink.hang_s)
                self.close_connection = True
                return
            if failure is not None:
                self._reply(
                    int(failure), {"errors": [{"message": f"injected {failure}"}]}, {"Retry-After": "1"}
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
