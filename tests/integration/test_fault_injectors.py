"""The fault injectors the stack tests use, against moto's S3 server and the mail recorder.

The S3 proxy (headpix.app.stack.s3faults) and the SendGrid recorder (mailsink) must fail what
they are told to and nothing else; the store and the outbox must ride out what they inject.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from headpix.app.stack import mailsink, s3faults
from headpix.mail import DeliveryUncertain, OutgoingMail, ProviderRefused, SendGridProvider
from headpix.storage import FsspecStore
from tests.fixtures_services import S3Server

MAIL = OutgoingMail("m-1", "studio@headpix.example", "ada@example.com", "Hi", "Body text")


def serve(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[str]:
    upstream = int(s3_server.endpoint.rsplit(":", 1)[1])
    yield from serve(s3faults.serve(0, upstream))


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), mailsink.handler_for(mailsink.MailSink(tmp_path / "m.jsonl"))
    )
    server.daemon_threads = True
    yield from serve(server)


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return dict(json.loads(response.read() or b"{}"))


def store_through(proxy: str, s3_server: S3Server) -> FsspecStore:
    bucket = s3_server.versioned_bucket()
    options = {
        "version_aware": True,
        "key": "test",
        "secret": "test",
        "client_kwargs": {"endpoint_url": proxy, "region_name": "us-east-1"},
    }
    return FsspecStore(f"s3://{bucket}/objects", options)


def test_the_dice_are_fixed_by_seed_operation_key_and_attempt():
    rolls = [s3faults.draw(7, "PUT", "/b/k", attempt) for attempt in range(1, 200)]
    assert rolls == [s3faults.draw(7, "PUT", "/b/k", attempt) for attempt in range(1, 200)]
    assert rolls != [s3faults.draw(8, "PUT", "/b/k", attempt) for attempt in range(1, 200)]
    share = sum(r < 0.1 for r in rolls) / len(rolls)
    assert 0.02 < share < 0.2, share


def test_the_proxy_passes_everything_until_told_then_the_store_retries_past_its_faults(proxy, s3_server):
    store = store_through(proxy, s3_server)
    store.put("a/one", b"x" * 50_000)
    assert store.get("a/one") == b"x" * 50_000
    store.put("a/three", b"w" * 50_000)  # not read yet: its first GET is attempt 1
    post(
        f"{proxy}/control/faults",
        {
            "seed": 1,
            "rules": [
                {"ops": ["PUT"], "match": "a/two", "mode": "500", "first": 2},
                {"ops": ["GET"], "match": "a/three", "mode": "reset", "first": 1},
                {"ops": ["DELETE_OBJECTS"], "match": "a/", "mode": "503", "first": 1},
            ],
        },
    )
    store.put("a/two", b"y" * 1000)
    assert store.get("a/three") == b"w" * 50_000, "a GET cut mid-body must be retried, never half read"
    assert store.delete_prefix("a/") >= 3
    with urllib.request.urlopen(f"{proxy}/control/stats", timeout=5) as response:
        stats = json.loads(response.read())
    assert stats["injected"] == {"PUT:500": 2, "GET:reset": 1, "DELETE_OBJECTS:503": 1}, stats
    assert store.version_count("a/") == 0


def test_a_put_that_never_gets_through_leaves_no_object(proxy, s3_server):
    store = store_through(proxy, s3_server)
    post(
        f"{proxy}/control/faults", {"rules": [{"ops": ["PUT"], "match": "b/", "mode": "reset", "first": 99}]}
    )
    with pytest.raises(Exception):  # noqa: B017 - whatever the client raises once its retries are spent
        store.put("b/half", b"z" * 200_000)
    post(f"{proxy}/control/faults", {"rules": []})
    assert store.version_count("b/") == 0, "a cut upload left a readable object"


def test_the_recorder_fails_one_recipient_and_says_retry_after(sink):
    post(f"{sink}/control/fail", {"count": 1, "mode": "429", "retry_after": 3, "to": "ada@example.com"})
    provider = SendGridProvider("SG.test-key", sink, timeout_s=2)
    with pytest.raises(ProviderRefused) as refused:
        provider.send(MAIL)
    assert refused.value.status == 429 and refused.value.retryable and refused.value.retry_after_s == 3
    other = OutgoingMail("m-2", "studio@headpix.example", "bob@example.com", "Hi", "Body")
    assert provider.send(other).startswith("local-")
    assert provider.send(MAIL).startswith("local-")


def test_a_provider_hanging_past_the_timeout_leaves_the_fate_unknown(sink):
    post(f"{sink}/control/fail", {"count": 1, "mode": "hang", "hang_s": 5, "accept": True})
    provider = SendGridProvider("SG.test-key", sink, timeout_s=1)
    with pytest.raises(DeliveryUncertain):
        provider.send(MAIL)
    with urllib.request.urlopen(f"{sink}/control/sent", timeout=5) as response:
        assert json.loads(response.read())["sent"] == 1, "the provider accepted it before hanging"
