"""Residue verification: proof that nothing of an erased customer is left in our stores.

Inside the erasure flow the identifiers (name, email, customer id, preference values, photo
hashes) are known in plaintext and searched for as bytes. Afterwards only keyed hashes of
them remain (in the request's outcome), so `headpix privacy verify` searches tokens by hash:
exact values in every text and JSON column, and word-like tokens in raw files.
"""

from __future__ import annotations

import hmac
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import String, Text, select
from sqlalchemy.types import JSON

from headpix.services import Services
from headpix.storage import Keys
from schemas.models import Base

TOKEN = re.compile(rb"[A-Za-z0-9._%+@\-]{4,}")
MAX_FILE = 512 * 1024 * 1024


class Needles(Protocol):
    def found_in_text(self, text: str) -> bool: ...
    def found_in_bytes(self, data: bytes) -> bool: ...


@dataclass
class PlainNeedles:
    """The identifiers themselves, held in memory during the erasure only."""

    values: list[str]

    def __post_init__(self) -> None:
        self.values = [v for v in dict.fromkeys(self.values) if len(v) >= 4]
        self._bytes = [v.encode() for v in self.values] + [v.lower().encode() for v in self.values]

    def found_in_text(self, text: str) -> bool:
        lowered = text.lower()
        return any(v.lower() in lowered for v in self.values)

    def found_in_bytes(self, data: bytes) -> bool:
        return any(v in data for v in self._bytes)


def token_hashes(secret: bytes, values: Iterable[str]) -> list[str]:
    """Keyed hashes of whole identifiers, kept for later verification.

    Whole values only: a word of a name ("smith") is shared by many people and by any
    vocabulary file, so it proves nothing; an email address, an id or a photo hash does.
    """
    return sorted(
        {hmac.new(secret, v.lower().encode(), sha256).hexdigest()[:32] for v in values if len(v) >= 4}
    )


@dataclass
class HashedNeedles:
    secret: bytes
    hashes: set[str]

    def _hit(self, token: bytes) -> bool:
        return hmac.new(self.secret, token.lower(), sha256).hexdigest()[:32] in self.hashes

    def found_in_text(self, text: str) -> bool:
        data = text.encode()
        return self._hit(data) or any(self._hit(t) for t in TOKEN.findall(data))

    def found_in_bytes(self, data: bytes) -> bool:
        return any(self._hit(t) for t in set(TOKEN.findall(data)))


@dataclass
class Residue:
    rows: list[str] = field(default_factory=list)
    objects: int = 0
    data_key: bool = False
    plaintext: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.rows or self.objects or self.data_key or self.plaintext)

    def to_json(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "rows": self.rows,
            "object_versions": self.objects,
            "data_key_present": self.data_key,
            "plaintext_found_in": self.plaintext,
            "checked": self.checked,
        }


def _text_columns() -> Iterator[tuple[Any, Any]]:
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String | Text | JSON):
                yield table, column


def rows_referring(services: Services, customer_id: str, skip: set[str]) -> list[str]:
    found = []
    with services.db.session() as session:
        for table in Base.metadata.sorted_tables:
            for name in ("customer_id",) + (("id",) if table.name == "customers" else ()):
                if name in table.c and f"{table.name}.{name}" not in skip:
                    hit = session.execute(select(table.c[name]).where(table.c[name] == customer_id).limit(1))
                    if hit.first() is not None:
                        found.append(f"{table.name}.{name}")
    return found


# Columns that hold other customers' own choices: a shared preference value ("navy suit")
# found there is theirs, not a residue of the erased customer (whose rows are checked by id).
OTHERS_CHOICES = {"customers.preferences", "headshots.prompt", "headshots.negative_prompt"}


def scan_columns(services: Services, needles: Needles, *, skip: set[str] | None = None) -> list[str]:
    found = []
    with services.db.session() as session:
        for table, column in _text_columns():
            if f"{table.name}.{column.name}" in (skip or set()):
                continue
            for (value,) in session.execute(select(column).where(column.is_not(None))):
                text = value if isinstance(value, str) else repr(value)
                if needles.found_in_text(text):
                    found.append(f"db:{table.name}.{column.name}")
                    break
    return found


def _files(root: Path, *, recursive: bool = True) -> Iterator[Path]:
    if not root.exists():
        return
    walker = root.rglob("*") if recursive else root.iterdir()
    for path in walker:
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_FILE:
                yield path
        except OSError:
            continue


def scan_roots(services: Services) -> list[tuple[Path, bool]]:
    """State dir (minus the .eml folder, which stands for the mail provider), Prefect's home,
    Ray's temp folders and our temp folders."""
    roots: list[tuple[Path, bool]] = [(services.settings.state_dir, True)]
    prefect_home = os.environ.get("PREFECT_HOME")
    if prefect_home:
        roots.append((Path(prefect_home), True))
    tmp = Path(tempfile.gettempdir())
    roots.append((tmp, False))
    roots += [(p, True) for p in tmp.glob("hpx-ray-*")] + [(p, True) for p in tmp.glob("headpix-*")]
    return roots


def scan_files(services: Services, needles: Needles) -> list[str]:
    """Raw bytes of every file in the scan roots, except the mail provider's folder and the
    base models (public weights and vocabularies, no customer data)."""
    skipped = (services.settings.mail_folder.resolve(), services.settings.models_dir.resolve())
    found = []
    for root, recursive in scan_roots(services):
        for path in _files(root, recursive=recursive):
            resolved = path.resolve()
            if any(folder in resolved.parents for folder in skipped) or "models" in path.parts:
                continue
            try:
                if needles.found_in_bytes(path.read_bytes()):
                    found.append(f"file:{path}")
            except OSError:
                continue
    return found


def verify_customer_gone(services: Services, customer_id: str, needles: Needles, weak: Needles) -> Residue:
    """Full check during the erasure: ``needles`` everywhere, ``weak`` (preference values)
    in every column except other customers' own choices."""
    residue = Residue()
    residue.rows = rows_referring(services, customer_id, skip=set())
    residue.checked.append("rows")
    residue.objects = services.raw_store.version_count(Keys.customer(customer_id))
    residue.checked.append("object versions")
    residue.data_key = services.keys.has_key(customer_id)
    residue.checked.append("data key")
    residue.plaintext = (
        scan_columns(services, needles)
        + scan_columns(services, weak, skip=OTHERS_CHOICES)
        + scan_files(services, needles)
    )
    residue.checked += ["text and JSON columns", "raw database files", "Prefect home", "state and temp"]
    return residue


def _ids_matching(values: Iterable[str], subject_ref: str, services: Services) -> set[str]:
    return {v for v in values if v and services.keys.pseudonym(v) == subject_ref}


def rows_by_pseudonym(services: Services, subject_ref: str, needles: Needles) -> dict[str, Any]:
    """Verification without plaintext: ids are matched through their keyed pseudonym."""
    from schemas.privacy import CustomerDataKey

    residue = Residue()
    ids: set[str] = set()
    with services.db.session() as session:
        for table in Base.metadata.sorted_tables:
            for name in ("customer_id",) + (("id",) if table.name == "customers" else ()):
                if name in table.c:
                    values = session.scalars(
                        select(table.c[name]).where(table.c[name].is_not(None)).distinct()
                    )
                    hits = _ids_matching(values, subject_ref, services)
                    if hits:
                        ids |= hits
                        residue.rows.append(f"{table.name}.{name}")
    residue.checked.append("rows")
    prefixes = {key.split("/")[1] for key in services.raw_store.list("customers/") if key.count("/") > 1}
    for customer_id in _ids_matching(prefixes, subject_ref, services):
        residue.objects += services.raw_store.version_count(Keys.customer(customer_id))
    residue.checked.append("object versions")
    with services.keys.db.session() as session:
        key_ids = session.scalars(select(CustomerDataKey.customer_id))
        residue.data_key = bool(_ids_matching(key_ids, subject_ref, services))
    residue.checked.append("data key")
    residue.plaintext = scan_columns(services, needles) + scan_files(services, needles)
    residue.checked += ["text and JSON columns (hashed tokens)", "raw files (hashed tokens)"]
    return residue.to_json()
