"""Deletion receipts: signed (Ed25519) proof that an erasure completed; no personal data.

The signing key is configured in production (HEADPIX_RECEIPT_SIGNING_KEY_FILE, checked at
start-up). The embedded default makes one on first use in its key dir, outside the state dir
and so outside any backup of the data; `headpix keys init` writes to the same place.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from headpix.errors import CommandError
from headpix.settings import Settings

log = logging.getLogger(__name__)


class ReceiptKeyMissing(CommandError):
    code = "receipt_key_missing"


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def init_key(path: Path) -> Path:
    """Write a new private signing key (PEM, mode 600); refuse to overwrite one."""
    if path.exists():
        raise CommandError(f"{path} exists; refusing to overwrite a signing key", code="exists")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return path


def load_private_key(settings: Settings) -> Ed25519PrivateKey:
    path = settings.receipt_key_path
    if not settings.receipt_signing_key_file and not path.exists():
        # Embedded default: nothing for an operator to set up before a customer can be served.
        init_key(path)
        log.warning("receipt signing key made at %s (outside the state dir); keep it safe", path)
    if not path.is_file():
        raise ReceiptKeyMissing(f"HEADPIX_RECEIPT_SIGNING_KEY_FILE: {path} does not exist")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ReceiptKeyMissing(f"HEADPIX_RECEIPT_SIGNING_KEY_FILE: {path} is not an Ed25519 key")
    return key


def public_key_text(settings: Settings) -> str:
    raw = (
        load_private_key(settings)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return base64.b64encode(raw).decode()


def sign(settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    key = load_private_key(settings)
    signature = key.sign(canonical(body))
    return {
        "receipt": body,
        "signature": base64.b64encode(signature).decode(),
        "algorithm": "Ed25519",
        "public_key": public_key_text(settings),
    }


def verify(signed: dict[str, Any], public_key_b64: str) -> bool:
    """True when the receipt was signed by the given public key and not altered since."""
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        public.verify(base64.b64decode(signed["signature"]), canonical(signed["receipt"]))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True
