"""Sealing wraps storage: objects are AES-GCM sealed under a data key, and fenced writers refuse.

This module knows nothing of the database, so Ray workers use it as the service side does.
Storage keys are bound as associated data, so a sealed object cannot be swapped for another.

A fence is an object ``fences/<keyed hash of the customer id>`` in the store itself: while an
erasure runs, every writer that holds the customer's data key (a worker mid-job included)
sees it before each put and stops, so nothing is written under a prefix being deleted.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from headpix.storage import ObjectStore, StorageError, describe

MAGIC = b"HPX1"
NONCE = 12
FENCES = "fences/"


class KeyDestroyed(StorageError):
    """The customer's data key is gone: their objects can no longer be read."""


class Fenced(StorageError):
    """An erasure of this customer is under way: no new object may be written for them."""


def seal(data_key: bytes, storage_key: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    return MAGIC + nonce + AESGCM(data_key).encrypt(nonce, plaintext, storage_key.encode())


def unseal(data_key: bytes, storage_key: str, sealed: bytes) -> bytes:
    if not sealed.startswith(MAGIC):
        raise StorageError(f"object {describe(storage_key)} is not sealed; refusing to read plaintext")
    nonce, body = sealed[len(MAGIC) : len(MAGIC) + NONCE], sealed[len(MAGIC) + NONCE :]
    try:
        return AESGCM(data_key).decrypt(nonce, body, storage_key.encode())
    except InvalidTag:
        raise StorageError(f"object {describe(storage_key)} failed authentication") from None


def customer_of(storage_key: str) -> str | None:
    parts = storage_key.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "customers" else None


def fence_key(tombstone: str) -> str:
    """The fence object's key for a customer's tombstone (a keyed hash, never the id)."""
    return FENCES + tombstone


# Which data key seals an object: None leaves it plain (objects that belong to no customer).
KeyFor = Callable[[str, bool], bytes | None]
# The fence object guarding a storage key, if any.
FenceFor = Callable[[str], str | None]


@dataclass
class SealedStore:
    """Seals objects on the way in and opens them on the way out; everything else passes through.

    ``key_for(storage_key, create)`` picks the data key: the service side looks up the
    customer's key by the key's prefix, a Ray worker holds one customer's key in memory for
    one job (``for_one_key``). ``fence_for(storage_key)`` names the fence object checked
    before every put.
    """

    inner: ObjectStore
    key_for: KeyFor
    fence_for: FenceFor | None = None

    @classmethod
    def for_one_key(cls, inner: ObjectStore, data_key: bytes, *, fence: str | None = None) -> SealedStore:
        return cls(inner, lambda _key, _create: data_key, (lambda _key: fence) if fence else None)

    def check_fence(self, key: str) -> None:
        fence = self.fence_for(key) if self.fence_for else None
        if fence and self.inner.exists(fence):
            raise Fenced(f"object {describe(key)} not written: the customer's data is being erased")

    def put(self, key: str, data: bytes) -> None:
        self.check_fence(key)
        data_key = self.key_for(key, True)
        self.inner.put(key, seal(data_key, key, data) if data_key else data)

    def get(self, key: str) -> bytes:
        data_key = self.key_for(key, False)
        raw = self.inner.get(key)
        return unseal(data_key, key, raw) if data_key else raw

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def list(self, prefix: str) -> builtins.list[str]:
        return self.inner.list(prefix)

    def delete(self, key: str) -> int:
        return self.inner.delete(key)

    def delete_current(self, key: str) -> int:
        return self.inner.delete_current(key)

    def delete_prefix(self, prefix: str) -> int:
        return self.inner.delete_prefix(prefix)

    def version_count(self, prefix: str) -> int:
        return self.inner.version_count(prefix)


class Fences:
    """Erasure tombstones as fence objects, named by a keyed hash so the store never holds an id."""

    def __init__(self, raw: ObjectStore, secret: bytes):
        self.raw = raw
        self._secret = secret

    def key_for(self, customer_id: str) -> str:
        return fence_key(hmac.new(self._secret, customer_id.encode(), hashlib.sha256).hexdigest()[:40])

    def is_fenced(self, customer_id: str) -> bool:
        return self.raw.exists(self.key_for(customer_id))

    def check(self, customer_id: str) -> None:
        """Refuse a new row, key or object for a customer whose erasure is under way."""
        if self.is_fenced(customer_id):
            raise Fenced("this customer's data is being erased; nothing new is stored for them")

    def raise_fence(self, customer_id: str) -> None:
        self.raw.put(self.key_for(customer_id), b"")

    def lower(self, customer_id: str) -> int:
        return self.raw.delete_current(self.key_for(customer_id))
