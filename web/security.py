"""Security plumbing: headers, CSRF tokens, keyed client hashes, in-memory rate limits, the secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from headpix.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
CSRF_MAX_AGE_S = 4 * 3600
ANON_CSRF_MAX_AGE_S = 2 * 3600  # a signed-out form's token: bound to the client's address, shorter


def is_loopback(settings: Settings) -> bool:
    parts = urlsplit(settings.public_url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def resolve_secret(settings: Settings) -> bytes:
    """HEADPIX_SESSION_SECRET, or a per-process secret when serving plain loopback (development)."""
    value = settings.session_secret.get_secret_value()
    if value:
        if len(value) < 32:
            raise ValueError("HEADPIX_SESSION_SECRET must be at least 32 characters")
        return value.encode()
    if not is_loopback(settings):
        raise ValueError(
            "HEADPIX_SESSION_SECRET is required when HEADPIX_PUBLIC_URL is not plain loopback "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return secrets.token_bytes(32)


def keyed_hash(secret: bytes, value: str) -> str:
    """A client address or email as a keyed hash: rate-limit keys never hold the value itself."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]


def csrf_token(secret: bytes, binding: str, *, now: float | None = None) -> str:
    stamp = str(int(now if now is not None else time.time()))
    sig = hmac.new(secret, f"{binding}|{stamp}".encode(), hashlib.sha256).hexdigest()
    return f"{stamp}.{sig}"


def csrf_valid(
    secret: bytes, binding: str, token: str, *, now: float | None = None, max_age_s: int = CSRF_MAX_AGE_S
) -> bool:
    stamp, _, sig = token.partition(".")
    if not stamp.isdigit() or not sig:
        return False
    current = now if now is not None else time.time()
    if not 0 <= current - int(stamp) <= max_age_s:
        return False
    expected = hmac.new(secret, f"{binding}|{stamp}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), sig.encode())


class RateLimiter:
    """A sliding window per (action, key), in memory: per process, forgotten on restart."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, action: str, key: str, *, limit: int, window_s: float = 60.0) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault((action, key), deque())
            while hits and now - hits[0] > window_s:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            if len(self._hits) > 100_000:  # bounded memory under a flood of distinct keys
                self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] <= window_s}
            return True


class SecurityHeaders:
    """Adds the security headers to every response, pages, API, assets and errors alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in HEADERS if n not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
