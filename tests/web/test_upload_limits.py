"""Uploads over the limits are refused while streaming, before the body has been read."""

from __future__ import annotations

import json
import socket
import time

from fastapi.testclient import TestClient

from headpix import drafts, sessions
from headpix.samples import sample_photos
from schemas.api import CustomerSignup, Gender
from tests.web.conftest import MAX_FILE_MB, WebServer
from web import core

CHUNK = 64 * 1024


def signed_in_cookie(web: WebServer, email: str) -> str:
    customer_id = core.sign_up(web.services, CustomerSignup(name="Lim", email=email, gender=Gender.man))
    return "hpx_session=" + sessions.create_session(web.services, customer_id=customer_id)


def response_of(sock: socket.socket) -> tuple[int, dict[str, str]]:
    data = b""
    sock.settimeout(10)
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) == 0:
        part = sock.recv(65536)
        if not part:
            break
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body.decode() or "{}")


def open_upload(web: WebServer, cookie: str, headers: str) -> socket.socket:
    port = int(web.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        (
            f"PUT /api/draft/photos?name=huge.jpg HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
            f"Content-Type: application/octet-stream\r\n{headers}\r\n"
        ).encode()
    )
    return sock


def test_a_declared_oversized_photo_is_refused_before_any_body(web: WebServer):
    cookie = signed_in_cookie(web, "declared.limit@example.com")
    sock = open_upload(web, cookie, f"Content-Length: {200 * 1024 * 1024}\r\n")
    status, body = response_of(sock)  # nothing of the body was sent
    sock.close()
    assert status == 413 and body["error"] == "file_too_large"
    # The intake's own sentence, with the configured limit: what is wrong and what to do.
    assert f"over {MAX_FILE_MB:g} MB" in body["message"] and "smaller copy" in body["message"]


def test_a_streamed_oversized_photo_is_refused_before_its_end(web: WebServer):
    """Chunked, so the size is unknown up front: the server stops reading once over the limit."""
    cookie = signed_in_cookie(web, "streamed.limit@example.com")
    sock = open_upload(web, cookie, "Transfer-Encoding: chunked\r\n")
    total = int(50 * MAX_FILE_MB * 1024 * 1024)  # 50 times the limit
    sent = 0
    sock.setblocking(False)
    answered = b""
    deadline = time.monotonic() + 30
    while sent < total and time.monotonic() < deadline:
        try:
            answered += sock.recv(65536)
        except BlockingIOError:
            pass
        except OSError:
            break
        if answered:
            break
        try:
            sock.send(f"{CHUNK:x}\r\n".encode() + b"\xff" * CHUNK + b"\r\n")
            sent += CHUNK
        except (BlockingIOError, InterruptedError):
            time.sleep(0.01)
        except OSError:
            break
    sock.setblocking(True)
    status, body = response_of_prefix(sock, answered)
    sock.close()
    assert status == 413 and body["error"] == "file_too_large"
    assert sent < total / 4, f"the server read {sent} bytes of {total} before refusing"


def response_of_prefix(sock: socket.socket, prefix: bytes) -> tuple[int, dict[str, str]]:
    data = prefix
    sock.settimeout(10)
    while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n"):
        try:
            part = sock.recv(65536)
        except OSError:
            break
        if not part:
            break
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body.decode() or "{}")


def test_files_per_shoot_are_limited(web: WebServer):
    client = TestClient(web.app, base_url=web.url)
    cookie = signed_in_cookie(web, "many.files@example.com")
    client.cookies.set("hpx_session", cookie.split("=", 1)[1])
    customer_id = core.customer_id_by_email(web.services, "many.files@example.com")
    assert customer_id
    name, data = sample_photos(1)[0]
    for index in range(web.services.settings.max_photos):
        drafts.add_photo(
            web.services,
            customer_id=customer_id,
            filename=f"{index}-{name}",
            data=data,
            sha256="0",
            phash="0",
        )
    response = client.put("/api/draft/photos", params={"name": "one-more.jpg"}, content=data)
    assert response.status_code == 413 and response.json()["error"] == "too_many_files"
