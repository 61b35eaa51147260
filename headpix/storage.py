"""Object storage: bytes addressed by keys made of ids, over fsspec (``file://`` or ``s3://``).

The interface takes keys, never local paths. On a versioned S3 bucket a plain delete only
adds a delete marker, so ``delete`` removes every version id and reports how many it removed.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import posixpath
import secrets
import shutil
from dataclasses import dataclass
from typing import Any, Protocol

import fsspec


class StorageError(RuntimeError):
    """An object could not be read or written."""


class StorageFull(StorageError):
    """A file store refused a write that would eat into its free-space reserve."""


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...
    def delete(self, key: str) -> int: ...
    def delete_current(self, key: str) -> int: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def version_count(self, prefix: str) -> int: ...


def describe(key: str) -> str:
    """A key as errors and logs may show it: without the customer id it begins with.

    Error messages travel: a task's failure becomes a Prefect state message and log line,
    a worker's failure a Ray error. The shoot and object ids are enough to find the object.
    """
    parts = key.split("/")
    if len(parts) > 1 and parts[0] == "customers":
        parts[1] = "…"
    return "/".join(parts)


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or ".." in key.split("/") or "\\" in key:
        raise StorageError(f"invalid storage key {describe(key)!r}: keys are relative, '/'-separated ids")
    return key


@dataclass
class FsspecStore:
    """One store for both backends; ``url`` is the root (``file:///…`` or ``s3://bucket/prefix``)."""

    url: str
    options: dict[str, Any]

    def __post_init__(self) -> None:
        # A file store keeps this much free, so the database beside it can still record a
        # failure and queue its mail when objects fill the disk (HEADPIX_STORAGE_RESERVE_MB).
        self.reserve_bytes = int(self.options.pop("reserve_bytes", 0) or 0)
        protocol = self.url.split("://", 1)[0]
        self.versioned = protocol == "s3"
        self.fs = fsspec.filesystem(protocol, **self.options)
        self.root = self.url.split("://", 1)[1].rstrip("/")
        if protocol == "file":
            self.fs.makedirs(self.root, exist_ok=True)

    def _path(self, key: str) -> str:
        return posixpath.join(self.root, _check_key(key))

    def _key(self, path: str) -> str:
        return path[len(self.root) + 1 :] if path.startswith(self.root + "/") else path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if self.versioned:  # an S3 PUT is atomic: a cut upload leaves no object
            self.fs.pipe_file(path, data)
            return
        folder = posixpath.dirname(path)
        self.fs.makedirs(folder, exist_ok=True)
        free = shutil.disk_usage(folder).free
        if free - len(data) < self.reserve_bytes:
            raise StorageFull(
                f"storage is full: writing {describe(key)} would leave {max(free - len(data), 0) >> 20} MB "
                f"free, under the {self.reserve_bytes >> 20} MB reserve"
            )
        # Written aside, then renamed: a failed write (a full disk) leaves no readable half file.
        part = f"{path}.part-{secrets.token_hex(4)}"
        try:
            self.fs.pipe_file(part, data)
            os.replace(part, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(part)
            raise

    def get(self, key: str) -> bytes:
        try:
            return bytes(self.fs.cat_file(self._path(key)))
        except FileNotFoundError:
            raise StorageError(f"object {describe(key)} not found") from None

    def exists(self, key: str) -> bool:
        if self.versioned:
            self.fs.invalidate_cache()
        return bool(self.fs.exists(self._path(key)))

    def list(self, prefix: str) -> builtins.list[str]:
        if self.versioned:
            self.fs.invalidate_cache()
        base = self._path(prefix.rstrip("/"))
        try:
            found = self.fs.find(base)
        except FileNotFoundError:
            return []
        return sorted(self._key(p) for p in found)

    def delete(self, key: str) -> int:
        """Delete every version of one object; return the number of versions removed."""
        path = self._path(key)
        if self.versioned:
            return self._delete_versions(path, exact=True)
        if not self.fs.exists(path):
            return 0
        self.fs.rm_file(path)
        return 1

    def delete_current(self, key: str) -> int:
        """Delete a key that is only ever put, and deleted by version (a fence): its current
        version, newest first, while it reads as present. Cheaper than listing the bucket's
        versions; a delete marker would hide older versions, and such keys never get one."""
        if not self.versioned:
            return self.delete(key)
        bucket, name = self._bucket_and_key(self._path(key))
        removed = 0
        for _ in range(8):  # more versions than that: list them after all
            try:
                version = self.fs.call_s3("head_object", Bucket=bucket, Key=name).get("VersionId")
            except FileNotFoundError:
                self.fs.invalidate_cache()
                return removed
            if not version or version == "null":
                break
            self.fs.call_s3("delete_object", Bucket=bucket, Key=name, VersionId=version)
            removed += 1
        return removed + self.delete(key)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object (and every version) under a prefix."""
        if self.versioned:
            return self._delete_versions(self._path(prefix.rstrip("/")) + "/", exact=False)
        removed = 0
        for key in self.list(prefix):
            removed += self.delete(key)
        self._prune_empty_folders(prefix)
        return removed

    def _prune_empty_folders(self, prefix: str) -> None:
        """A file store's folders are named by ids: an empty one left behind still names a customer.

        Remove the empty folders under the prefix (deepest first), then its empty parents.
        """
        folder = self._path(prefix.rstrip("/"))
        if os.path.isdir(folder):
            for path, _dirs, _files in os.walk(folder, topdown=False):
                with contextlib.suppress(OSError):
                    os.rmdir(path)  # refused while not empty: exactly what we want
        parent = posixpath.dirname(folder)
        while parent.startswith(self.root + "/"):
            try:
                os.rmdir(parent)
            except OSError:
                return
            parent = posixpath.dirname(parent)

    def version_count(self, prefix: str) -> int:
        """Versions (and delete markers) under a prefix; 0 proves nothing is left."""
        if not self.versioned:
            return len(self.list(prefix))
        return len(self._versions(self._path(prefix), exact=False))

    def _bucket_and_key(self, path: str) -> tuple[str, str]:
        bucket, _, key = path.partition("/")
        return bucket, key

    def _versions(self, path: str, *, exact: bool) -> builtins.list[tuple[str, str]]:
        bucket, key = self._bucket_and_key(path)
        found: builtins.list[tuple[str, str]] = []
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": key}
        while True:
            page = self.fs.call_s3("list_object_versions", **kwargs)
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if not exact or item["Key"] == key:
                    found.append((item["Key"], item["VersionId"]))
            if not page.get("IsTruncated"):
                return found
            kwargs["KeyMarker"] = page["NextKeyMarker"]
            kwargs["VersionIdMarker"] = page["NextVersionIdMarker"]

    def _delete_versions(self, path: str, *, exact: bool) -> int:
        bucket, _ = self._bucket_and_key(path)
        versions = self._versions(path, exact=exact)
        for start in range(0, len(versions), 1000):
            batch = versions[start : start + 1000]
            objects = [{"Key": k, "VersionId": v} for k, v in batch]
            reply = self.fs.call_s3(
                "delete_objects", Bucket=bucket, Delete={"Objects": objects, "Quiet": True}
            )
            if reply.get("Errors"):
                raise StorageError(f"{len(reply['Errors'])} object versions could not be deleted")
        self.fs.invalidate_cache()
        return len(versions)


def open_store(url: str, options: dict[str, Any] | None = None) -> ObjectStore:
    """The raw store at ``url``; ``headpix.sealing`` wraps it to seal and fence."""
    return FsspecStore(url, dict(options or {}))


class Keys:
    """Storage keys, made of ids only: everything of a customer lives under one prefix."""

    @staticmethod
    def customer(customer_id: str) -> str:
        return f"customers/{customer_id}/"

    @staticmethod
    def shoot(customer_id: str, shoot_id: str) -> str:
        return f"customers/{customer_id}/shoots/{shoot_id}/"

    @staticmethod
    def original(customer_id: str, shoot_id: str, photo_id: str) -> str:
        return f"customers/{customer_id}/shoots/{shoot_id}/originals/{photo_id}"

    @staticmethod
    def crop(customer_id: str, shoot_id: str, photo_id: str) -> str:
        return f"customers/{customer_id}/shoots/{shoot_id}/crops/{photo_id}.png"

    @staticmethod
    def identity_model(customer_id: str, shoot_id: str, model_id: str) -> str:
        return f"customers/{customer_id}/shoots/{shoot_id}/identity/{model_id}.safetensors"

    @staticmethod
    def reference_template(customer_id: str, shoot_id: str, model_id: str) -> str:
        """The shoot's reference face, beside its identity model (same retention and erasure)."""
        return f"customers/{customer_id}/shoots/{shoot_id}/identity/{model_id}.template"

    @staticmethod
    def headshot(customer_id: str, shoot_id: str, headshot_id: str) -> str:
        return f"customers/{customer_id}/shoots/{shoot_id}/headshots/{headshot_id}.png"
