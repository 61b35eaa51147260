"""Personal values in the database, sealed under the key of the person they belong to.

Each value is AES-GCM sealed under the customer's data key (or, for a request with no
customer, under the request's own key), with the column and the owner bound as associated
data, so a sealed value cannot be moved to another column or another customer. Destroying
the key makes every copy of the value unreadable: backups, WAL segments, replicas and dumps.

Lookup by email uses a blind index: an HMAC of the normalised address under a key of its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from headpix.privacy.crypto import KeyRing
from headpix.sealing import KeyDestroyed

MAGIC = b"HPV1"
NONCE = 12


class SealedValueError(KeyDestroyed):
    """A sealed value could not be opened: its key is gone or the value was tampered with."""


@dataclass(frozen=True)
class Owner:
    """Whose key seals a value: a customer's data key, or one request's key."""

    kind: Literal["customer", "request"]
    id: str

    def key(self, keys: KeyRing, *, create: bool) -> bytes:
        if self.kind == "customer":
            return keys.data_key(self.id, create=create)
        return keys.request_key(self.id, create=create)


def customer(customer_id: str) -> Owner:
    return Owner("customer", customer_id)


def request(request_id: str) -> Owner:
    return Owner("request", request_id)


def _associated(owner: Owner, column: str) -> bytes:
    return f"{column}|{owner.kind}:{owner.id}".encode()


def seal_with(key: bytes, owner: Owner, column: str, value: str) -> bytes:
    nonce = os.urandom(NONCE)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, value.encode(), _associated(owner, column))


def open_with(key: bytes, owner: Owner, column: str, sealed: bytes) -> str:
    sealed = bytes(sealed)
    if not sealed.startswith(MAGIC):
        raise SealedValueError(f"{column} of {owner.kind} {owner.id} is not a sealed value")
    nonce, body = sealed[len(MAGIC) : len(MAGIC) + NONCE], sealed[len(MAGIC) + NONCE :]
    try:
        return AESGCM(key).decrypt(nonce, body, _associated(owner, column)).decode()
    except InvalidTag:
        raise SealedValueError(
            f"{column} of {owner.kind} {owner.id} cannot be opened with its key; was it moved or altered?"
        ) from None


def seal_value(keys: KeyRing, owner: Owner, column: str, value: str) -> bytes:
    """Seal one value of ``column`` (``table.column``) for ``owner``; creates the key if needed."""
    return seal_with(owner.key(keys, create=True), owner, column, value)


def open_value(keys: KeyRing, owner: Owner, column: str, sealed: bytes) -> str:
    """Open a sealed value; KeyDestroyed when the owner's key is gone."""
    return open_with(owner.key(keys, create=False), owner, column, sealed)


def seal_json(keys: KeyRing, owner: Owner, column: str, value: Any) -> bytes:
    return seal_value(keys, owner, column, json.dumps(value, ensure_ascii=False, sort_keys=True))


def open_json(keys: KeyRing, owner: Owner, column: str, sealed: bytes) -> Any:
    return json.loads(open_value(keys, owner, column, sealed))


def normalise_email(address: str) -> str:
    return address.strip().lower()


def blind_index(keys: KeyRing, email: str) -> str:
    """The keyed blind index of an address: equal addresses, equal index; nothing else leaks."""
    return keys.blind_index("email:" + normalise_email(email))
