"""The stack's SendGrid stand-in: records sends, and fails the next N on request."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from headpix.app.stack.mailsink import MailSink, handler_for


def post(url: str, body: dict, *, auth: bool = True) -> int:
    headers = {"Content-Type": "application/json", **({"Authorization": "Bearer SG.x"} if auth else {})}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
def sink(tmp_path: Path):
    store = MailSink(tmp_path / "sent.jsonl")
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(store))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield store, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_records_sends_and_fails_the_next_n_on_request(sink) -> None:
    store, url = sink
    assert post(f"{url}/v3/mail/send", {"subject": "a"}) == 202
    assert post(f"{url}/v3/mail/send", {"subject": "b"}, auth=False) == 401
    assert post(f"{url}/control/fail", {"count": 2, "mode": "429"}) == 200
    assert [post(f"{url}/v3/mail/send", {"subject": "c"}) for _ in range(3)] == [429, 429, 202]
    lines = store.file.read_text().splitlines()
    assert [json.loads(line)["message"]["subject"] for line in lines] == ["a", "c"]
    assert post(f"{url}/control/fail", {"count": 1, "mode": "teapot"}) == 400
