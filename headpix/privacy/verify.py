"""Residue verification: proof that nothing of an erased customer is left in our stores.

An erasure verifies what it can prove cheaply (key, rows, objects). Keyed hashes of the unique
identifiers (id, address, photo hashes) are kept in the request's outcome, so `headpix privacy
verify` and the sweep's residue audit search tokens by hash: exact values in every text and
JSON column, and word-like tokens in raw files.
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

from sqlalchemy import String, Text, literal, select, union_all
from sqlalchemy.types import JSON

from headpix.services import Services
from headpix.storage import Keys
from schemas.models import Base

TOKEN = re.compile(rb"[A-Za-z0-9._%+@\-]{4,}")
MAX_FILE = 512 * 1024 * 1024


class Needles(Protocol):
    def found_in_text(self, text: str) -> bool: ...
    def found_in_bytes(self, data: bytes) -> bool: ...


UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX_RUN = re.compile(rb"[0-9a-f]{64,}")


def _digest(secret: bytes, value: bytes) -> str:
    return hmac.new(secret, value.lower(), sha256).hexdigest()[:32]


def token_hashes(secret: bytes, values: Iterable[str]) -> dict[str, Any]:
    """Keyed hashes of whole identifiers, kept for later verification, and the shape of each
    email (length, position of '@') so it can be found flush against other bytes.

    Whole values only: a word of a name ("smith") is shared by many people and by any
    vocabulary file, so it proves nothing; an email address, an id or a photo hash does.
    """
    kept = [v.lower() for v in values if len(v) >= 4]
    return {
        "hashes": sorted({_digest(secret, v.encode()) for v in kept}),
        "emails": sorted({(len(v.encode()), v.encode().index(b"@")) for v in kept if "@" in v}),
    }


@dataclass
class HashedNeedles:
    """Identifiers known only by keyed hash: candidates are cut from the data by shape."""

    secret: bytes
    hashes: set[str]
    emails: list[tuple[int, int]] = field(default_factory=list)

    def _candidates(self, data: bytes) -> Iterator[bytes]:
        data = data.lower()
        yield from TOKEN.findall(data)
        yield from UUID.findall(data)
        for run in HEX_RUN.findall(data):
            for start in range(len(run) - 63):
                yield run[start : start + 64]
        if self.emails:
            for match in re.finditer(rb"@", data):
                for length, at in self.emails:
                    start = match.start() - at
                    if start >= 0:
                        yield data[start : start + length]

    def found_in_text(self, text: str) -> bool:
        """Whole values and whole tokens of a column (values there are not flush)."""
        data = text.encode()
        tokens = {data, *TOKEN.findall(data.lower())}
        return any(_digest(self.secret, t) in self.hashes for t in tokens)

    def found_in_bytes(self, data: bytes) -> bool:
        return any(_digest(self.secret, c) in self.hashes for c in set(self._candidates(data)))


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
    """Every ``table.column`` still carrying the customer id, in one round trip (an indexed
    probe per column, so its cost does not grow with the database)."""
    probes = [
        select(literal(f"{table.name}.{name}").label("found"))
        .where(table.c[name] == customer_id)
        .limit(1)
        .subquery()
        for table in Base.metadata.sorted_tables
        for name in ("customer_id",) + (("id",) if table.name == "customers" else ())
        if name in table.c and f"{table.name}.{name}" not in skip
    ]
    query = union_all(*(select(probe.c.found) for probe in probes))
    with services.db.session() as session:
        return sorted(str(row) for row in session.scalars(query))


def scan_columns(services: Services, needles: Needles) -> list[str]:
    """Search every text and JSON column for unique identifiers (names and preference values,
    which other customers may share, are never searched: they would accuse the innocent)."""
    found = []
    with services.db.session() as session:
        for table, column in _text_columns():
            query = select(column).where(column.is_not(None))
            for (value,) in session.execute(query):
                text = value if isinstance(value, str) else repr(value)
                if needles.found_in_text(text):
                    found.append(f"db:{table.name}.{column.name}")
                    break
    return found


def files_under(root: Path, *, recursive: bool = True) -> Iterator[Path]:
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
    if services.settings.resolved_key_dir.is_dir():  # the embedded key store lives outside the state dir
        roots.append((services.settings.resolved_key_dir, True))
    prefect_home = os.environ.get("PREFECT_HOME")
    if prefect_home:
        roots.append((Path(prefect_home), True))
    tmp = Path(tempfile.gettempdir())
    roots.append((tmp, False))
    roots += [(p, True) for p in tmp.glob("hpx-ray-*")] + [(p, True) for p in tmp.glob("headpix-*")]
    return roots


def _base_models(root: Path) -> list[Path]:
    """Saved diffusers pipelines under a root: public weights and vocabularies, nobody's data
    (an identity model is never on local disk: it lives sealed in object storage)."""
    return [index.parent.resolve() for index in root.rglob("model_index.json")]


def files_to_search(services: Services) -> Iterator[Path]:
    """Every file in the scan roots, except the mail provider's folder (delivered mail, outside
    our stores) and saved base models."""
    for root, recursive in scan_roots(services):
        skipped = [services.settings.mail_folder.resolve(), *(_base_models(root) if recursive else [])]
        for path in files_under(root, recursive=recursive):
            if not any(folder in path.resolve().parents for folder in skipped):
                yield path


def files_holding(needles: Needles, paths: Iterable[Path]) -> list[Path]:
    """The files whose raw bytes hold any of the needles (unreadable ones are passed over)."""
    found = []
    for path in paths:
        try:
            if needles.found_in_bytes(path.read_bytes()):
                found.append(path)
        except OSError:
            continue
    return found


def scan_files(services: Services, needles: Needles) -> list[str]:
    """Raw bytes of every file to search (above)."""
    return [f"file:{path}" for path in files_holding(needles, files_to_search(services))]


def _ids_matching(values: Iterable[str], subject_ref: str, services: Services) -> set[str]:
    return {v for v in values if v and services.keys.pseudonym(v) == subject_ref}


def ids_by_pseudonym(services: Services, subject_ref: str) -> set[str]:
    """Customer ids still present anywhere (rows, objects, keys) whose pseudonym is ``subject_ref``."""
    from schemas.privacy import CustomerDataKey

    ids: set[str] = set()
    with services.db.session() as session:
        for table in Base.metadata.sorted_tables:
            for name in ("customer_id",) + (("id",) if table.name == "customers" else ()):
                if name in table.c:
                    values = session.scalars(
                        select(table.c[name]).where(table.c[name].is_not(None)).distinct()
                    )
                    ids |= _ids_matching(values, subject_ref, services)
    prefixes = {key.split("/")[1] for key in services.raw_store.list("customers/") if key.count("/") > 1}
    ids |= _ids_matching(prefixes, subject_ref, services)
    with services.keys.db.session() as session:
        ids |= _ids_matching(session.scalars(select(CustomerDataKey.customer_id)), subject_ref, services)
    return ids


def rows_by_pseudonym(
    services: Services, subject_ref: str, needles: Needles, *, scan: bool = True
) -> dict[str, Any]:
    """Verification without plaintext: ids are matched through their keyed pseudonym.

    With ``scan``, text columns and raw files are searched for the hashed tokens as well.
    """
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
    if scan:
        residue.plaintext = scan_columns(services, needles) + scan_files(services, needles)
        residue.checked += ["text and JSON columns (hashed tokens)", "raw files (hashed tokens)"]
    return residue.to_json()
