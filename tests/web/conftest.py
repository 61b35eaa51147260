"""One app server (uvicorn on 127.0.0.1, a free port) and one headless Chromium per test session.

The browser is Debian's chromium driven by Python playwright (never `playwright install`); host
resolution is limited to loopback and a route handler aborts, and records, any other request,
so a page that reaches outside fails its test.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn

from headpix.app.wiring import install_launcher
from headpix.services import Services
from headpix.settings import load_settings
from tests.conftest import require
from tests.fixtures_services import FAST, receipt_key
from web.app import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LOOPBACK_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
MAX_FILE_MB = 2.0


@dataclass
class WebServer:
    url: str
    services: Services
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    def mails(self, to: str) -> list[Message]:
        """Every .eml handed to the mail folder for an address, oldest first."""
        folder = self.services.settings.mail_folder
        found = []
        for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime) if folder.exists() else []:
            message = message_from_bytes(path.read_bytes())
            if message["To"] == to:
                found.append(message)
        return found

    def link_in_mail(self, to: str, path_part: str, *, timeout_s: float = 30) -> str:
        """The newest link to this server containing ``path_part`` in mail to ``to``."""
        pattern = re.compile(re.escape(self.url) + re.escape(path_part) + r"[^\s]+")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for message in reversed(self.mails(to)):
                body = message.get_payload(decode=True)
                found = pattern.search(
                    body.decode() if isinstance(body, bytes) else str(message.get_payload())
                )
                if found:
                    return found.group(0)
            time.sleep(0.2)
        raise AssertionError(f"no mail to {to} with a {path_part} link")


COMMAND_TEXT = re.compile(r"\bheadpix [a-z]|(^|\s)--[a-z]|\bmake [a-z]|^\s*\$ ", re.M)


def command_text_in_mail(folder: Path) -> list[str]:
    """Every handed-over mail whose body tells the customer to run a command, as "subject: text"."""
    found = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = message_from_bytes(path.read_bytes())
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                match = COMMAND_TEXT.search(payload.decode("utf-8", "replace"))
                if match:
                    found.append(f"{message['Subject']}: {match.group(0)!r}")
    return found


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def start_server(services: Services, sock: socket.socket) -> tuple[Any, uvicorn.Server, threading.Thread]:
    app = create_app(services)
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the web server did not start"
    return app, server, thread


def web_services(home: Path, session_dir: Path, url: str, **overrides: Any) -> Services:
    values: dict[str, Any] = {
        "home": home,
        "public_url": url,
        "receipt_signing_key_file": str(receipt_key(session_dir)),
        **FAST,
        "max_file_mb": MAX_FILE_MB,
        "upload_max_total_mb": 20.0,
        "rate_limit_per_minute": 200,
        "upload_rate_per_minute": 600,
        **overrides,
    }
    settings = load_settings(**values)
    shared = session_dir / "models"
    shared.mkdir(exist_ok=True)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    if not settings.models_dir.exists():
        settings.models_dir.symlink_to(shared, target_is_directory=True)
    services = install_launcher(Services(settings))
    services.migrate()
    return services


@pytest.fixture(scope="session")
def web(session_dir: Path) -> Iterator[WebServer]:
    sock = free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    services = web_services(session_dir / "web-state", session_dir, url)
    app, server, thread = start_server(services, sock)
    yield WebServer(url, services, app, server, thread)
    server.should_exit = True
    thread.join(timeout=30)
    services.db.dispose()
    # Every mail the web tests caused, read once more: none may tell a customer to run a command.
    assert command_text_in_mail(services.settings.mail_folder) == []


@dataclass
class Outside:
    """Requests to anywhere but loopback, aborted and remembered."""

    urls: list[str] = field(default_factory=list)

    def route(self, route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.urls.append(route.request.url)
            route.abort()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (make chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[LOOPBACK_ONLY, "--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, web: WebServer) -> Iterator[Any]:
    """A fresh context (no cookies) whose every non-loopback request fails the test."""
    outside = Outside()
    context = browser.new_context(accept_downloads=True, viewport={"width": 1100, "height": 900})
    context.route("**/*", outside.route)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert not outside.urls, f"pages tried to reach outside hosts: {outside.urls}"


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where a test's screenshots go (under the test's output folder)."""
    return tmp_path_factory.mktemp("screens-" + request.node.name[:40])
