"""What production refuses: placeholder or malformed secrets, and a key store beside the data.

The placeholder list lives here and only here; docs/production-settings.md documents it.
Each function returns a problem text naming the setting and what to do, or None.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Words people type while setting things up. A secret equal to one of these (any case), or
# starting with one of 4+ letters (after a provider prefix such as "SG."), is refused in production.
PLACEHOLDERS = (
    "changeme",
    "change-me",
    "change_me",
    "changethis",
    "test",
    "testing",
    "secret",
    "password",
    "passw0rd",
    "example",
    "default",
    "dummy",
    "placeholder",
    "sample",
    "demo",
    "fake",
    "todo",
    "fixme",
    "xxx",
    "your",
    "insert",
    "replace",
    "none",
    "null",
    "admin",
    "letmein",
    "qwerty",
    "12345",
    "headpix",
)
PREFIX_MIN_LETTERS = 4
# A random secret of this length has far more distinct characters; fewer means a pattern
# ("abababab…", "00000000…", "aaaa…").
MIN_DISTINCT_CHARACTERS = 8
MASTER_KEY_BYTES = 32
SESSION_SECRET_MIN_CHARS = 32
# SendGrid API keys: "SG." + 22-character id + "." + 43-character secret = 69 characters.
SENDGRID_KEY = re.compile(r"^SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$")
GENERATE_HINT = (
    'python -c "import secrets, base64; print(base64.b64encode(secrets.token_bytes(32)).decode())"'
)


def placeholder_reason(value: str, *, prefix: str = "") -> str | None:
    """Why ``value`` looks like a placeholder rather than a generated secret, or None."""
    body = value[len(prefix) :] if prefix and value.startswith(prefix) else value
    for word in PLACEHOLDERS:
        # Prefixes only for words of 4+ letters, in the cases people type them: a generated key
        # starts with one of them about once in 10 million.
        starts = len(word) >= PREFIX_MIN_LETTERS and body.startswith((word, word.upper(), word.capitalize()))
        if body.lower() == word or starts:
            return f'it is or starts with the placeholder "{word}"'
    if len(set(body)) < MIN_DISTINCT_CHARACTERS:
        return "it repeats too few characters to be a generated secret"
    return None


def master_key_problem(value: str) -> str | None:
    """HEADPIX_MASTER_KEY must be given, base64 of 32 random bytes."""
    name = "HEADPIX_MASTER_KEY"
    if not value:
        return (
            f"{name}: not set. In production the master key comes from your secret manager; "
            "without it Headpix would generate one on this machine's disk. "
            f"Create one with {GENERATE_HINT}"
        )
    reason = placeholder_reason(value)
    if reason:
        return f"{name}: refused because {reason}; create a real one with {GENERATE_HINT}"
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return f"{name}: not valid base64; create one with {GENERATE_HINT}"
    if len(raw) != MASTER_KEY_BYTES:
        return f"{name}: must be {MASTER_KEY_BYTES} bytes, base64-encoded; create one with {GENERATE_HINT}"
    if len(set(raw)) < MIN_DISTINCT_CHARACTERS:
        return f"{name}: its bytes repeat a pattern, not a random key; create one with {GENERATE_HINT}"
    return None


def sendgrid_key_problem(value: str) -> str | None:
    """HEADPIX_SENDGRID_API_KEY must have SendGrid's format and not be a test value."""
    name = "HEADPIX_SENDGRID_API_KEY"
    if not value:
        return f"{name}: not set; create an API key with Mail Send permission in SendGrid"
    reason = placeholder_reason(value, prefix="SG.")
    if reason:
        return f"{name}: refused because {reason}; use the API key SendGrid issued"
    if not SENDGRID_KEY.match(value):
        return f'{name}: not a SendGrid API key ("SG." and 66 more characters); copy it again from SendGrid'
    return None


def session_secret_problem(value: str) -> str | None:
    """HEADPIX_SESSION_SECRET keys web sessions, CSRF tokens and rate-limit hashes."""
    name = "HEADPIX_SESSION_SECRET"
    hint = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
    if not value:
        return f"{name}: not set; create one with {hint}"
    reason = placeholder_reason(value)
    if reason:
        return f"{name}: refused because {reason}; create one with {hint}"
    if len(value) < SESSION_SECRET_MIN_CHARS:
        return f"{name}: shorter than {SESSION_SECRET_MIN_CHARS} characters; create one with {hint}"
    return None


def _database_identity(url: str) -> tuple[str, str, int | None, str] | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return backend, "", None, str(Path(parsed.database or "").resolve())
    host = (parsed.host or "localhost").lower()
    if host in ("127.0.0.1", "::1", "localhost"):
        host = "localhost"
    return backend, host, parsed.port, parsed.database or ""


def key_store_problem(keys_url: str, data_url: str) -> str | None:
    """The key store must be its own database, so backups of the data never hold the keys."""
    name = "HEADPIX_KEYS_DATABASE_URL"
    if not keys_url:
        return (
            f"{name}: not set. In production the key store is its own database (kept 14 days in "
            "backups at most), never a file beside the data"
        )
    keys_id, data_id = _database_identity(keys_url), _database_identity(data_url)
    if keys_id is None:
        return f"{name}: not a database URL"
    if keys_id == data_id:
        return (
            f"{name}: names the same database as HEADPIX_DATABASE_URL; create a separate database "
            "for the key store so backups of the data never hold the keys"
        )
    return None


def receipt_key_problem(path: str) -> str | None:
    """HEADPIX_RECEIPT_SIGNING_KEY_FILE: production signs deletion receipts with a key it was given."""
    name = "HEADPIX_RECEIPT_SIGNING_KEY_FILE"
    if not path:
        return (
            f"{name} is not set: production signs deletion receipts with a key kept in a secret "
            "manager; make one with `headpix keys init --out PATH`"
        )
    from pathlib import Path

    if not Path(path).expanduser().is_file():
        return f"{name}: the file it names does not exist or is not a file"
    return None
