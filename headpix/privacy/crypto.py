"""Crypto-shredding: each customer's objects are sealed with their own AES-GCM data key.

Data keys are wrapped by the master key (from settings) and kept in a separate key store.
Destroying a customer's data key makes every copy of their objects, backups included,
unreadable. Storage keys are bound as associated data, so a sealed object cannot be
swapped for another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete

from headpix.db import Database
from headpix.key_location import prepare_key_dir, read_or_create_master_key
from headpix.migrate_lock import create_all_locked
from headpix.sealing import NONCE, Fences, KeyDestroyed, SealedStore, customer_of
from headpix.settings import Settings, SettingsError
from headpix.storage import ObjectStore
from schemas.privacy import CustomerDataKey, KeysBase, RequestKey


def load_master_key(settings: Settings) -> bytes:
    """The master key from settings; the embedded default generates one in the key folder
    (outside the state dir, see headpix.key_location)."""
    text = settings.master_key.get_secret_value() or read_or_create_master_key(settings)
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        raise SettingsError("HEADPIX_MASTER_KEY: not valid base64") from None
    if len(key) != 32:
        raise SettingsError("HEADPIX_MASTER_KEY: must be 32 bytes, base64-encoded")
    return key


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class KeyRing:
    """Per-customer data keys (wrapped, in their own database) and keyed pseudonyms."""

    def __init__(self, settings: Settings):
        master = load_master_key(settings)
        self._wrap = AESGCM(_derive(master, b"headpix data-key wrap"))
        self._pseudonym = _derive(master, b"headpix pseudonym")
        self._fence = _derive(master, b"headpix erasure fence")
        if not settings.keys_database_url:
            prepare_key_dir(settings)
        # Its own purpose: the blind index must not be computable from a data key or a pseudonym.
        self._blind_index = _derive(master, b"headpix blind index")
        self.db = Database(settings.resolved_keys_database_url)
        create_all_locked(KeysBase.metadata, engine=self.db.engine)

    @property
    def fence_secret(self) -> bytes:
        return self._fence

    @property
    def pseudonym_secret(self) -> bytes:
        return self._pseudonym

    def pseudonym(self, value: str) -> str:
        """A stable keyed hash: names a subject in audit and receipts without identifying them."""
        return hmac.new(self._pseudonym, value.encode(), hashlib.sha256).hexdigest()[:32]

    def blind_index(self, value: str) -> str:
        """A keyed hash for lookup by equality (an email address); deterministic, not reversible."""
        return hmac.new(self._blind_index, value.encode(), hashlib.sha256).hexdigest()

    def data_key(self, customer_id: str, *, create: bool = False) -> bytes:
        with self.db.session() as session:
            row = session.get(CustomerDataKey, customer_id)
            if row is None:
                if not create:
                    raise KeyDestroyed("no data key for this customer: erased, or never stored anything")
                key = AESGCM.generate_key(bit_length=256)
                nonce = os.urandom(NONCE)
                wrapped = nonce + self._wrap.encrypt(nonce, key, customer_id.encode())
                session.add(CustomerDataKey(customer_id=customer_id, wrapped_key=wrapped))
                return key
            wrapped = bytes(row.wrapped_key)
        return self._wrap.decrypt(wrapped[:NONCE], wrapped[NONCE:], customer_id.encode())

    def has_key(self, customer_id: str) -> bool:
        with self.db.session() as session:
            return session.get(CustomerDataKey, customer_id) is not None

    def destroy(self, customer_id: str) -> int:
        """Shred: delete the customer's data key. Returns rows deleted (0 or 1)."""
        with self.db.session() as session:
            result = session.execute(
                delete(CustomerDataKey).where(CustomerDataKey.customer_id == customer_id)
            )
            deleted = int(getattr(result, "rowcount", 0) or 0)
        if self.db.url.startswith("sqlite"):
            with self.db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    def request_key(self, request_id: str, *, create: bool = False) -> bytes:
        """The key of one request's contact fields when no customer key can hold them (the final
        notice of an erasure); destroyed once that notice is handed to the provider."""
        with self.db.session() as session:
            row = session.get(RequestKey, request_id)
            if row is None:
                if not create:
                    raise KeyDestroyed("no key for this request: its notice was sent, or it had none")
                key = AESGCM.generate_key(bit_length=256)
                nonce = os.urandom(NONCE)
                wrapped = nonce + self._wrap.encrypt(nonce, key, b"request:" + request_id.encode())
                session.add(RequestKey(request_id=request_id, wrapped_key=wrapped))
                return key
            wrapped = bytes(row.wrapped_key)
        return self._wrap.decrypt(wrapped[:NONCE], wrapped[NONCE:], b"request:" + request_id.encode())

    def destroy_request_key(self, request_id: str) -> int:
        with self.db.session() as session:
            result = session.execute(delete(RequestKey).where(RequestKey.request_id == request_id))
            return int(getattr(result, "rowcount", 0) or 0)


def sealed_store_for_customers(inner: ObjectStore, keys: KeyRing, fences: Fences) -> SealedStore:
    """The service side's sealed view: each customer's key looked up by the object's prefix."""

    def key_for(storage_key: str, create: bool) -> bytes | None:
        customer_id = customer_of(storage_key)
        return keys.data_key(customer_id, create=create) if customer_id else None

    def fence_for(storage_key: str) -> str | None:
        customer_id = customer_of(storage_key)
        return fences.key_for(customer_id) if customer_id else None

    return SealedStore(inner, key_for, fence_for)
