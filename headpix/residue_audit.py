"""The sweep's residue audit and vacuum: what the bounded, per-erasure verification leaves to later.

An erasure verifies what it can prove cheaply (key gone, rows, objects, fence). Raw bytes of
whole stores (database files, Prefect's home, temp folders) are searched here instead, on a
schedule: files changed since the last audit plus a random sample of the rest, for the keyed
hashes of the unique identifiers of recent erasures. A hit opens an incident for operators and
runs the deletion again for what can be found by pseudonym (rows, objects, key).

On PostgreSQL, deleted rows leave dead tuples until vacuumed; vacuuming every table inside each
erasure would make its cost grow with the database, so the sweep vacuums, batched, after
erasures, the key store included.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from headpix.privacy.audit import record
from headpix.privacy.verify import (
    HashedNeedles,
    files_holding,
    files_to_search,
    rows_by_pseudonym,
    scan_columns,
)
from headpix.services import Services
from schemas.models import Base
from schemas.privacy import AuditEvent, PrivacyRequest, RetentionIncident

log = logging.getLogger(__name__)
AUDIT_WINDOW_DAYS = 30
SAMPLE_FILES = 200
MAX_REQUESTS = 50


def _last(services: Services, action: str) -> datetime | None:
    with services.db.session() as session:
        return session.scalar(
            select(AuditEvent.at).where(AuditEvent.action == action).order_by(AuditEvent.at.desc())
        )


def _recent_erasures(services: Services, now: datetime) -> list[PrivacyRequest]:
    with services.db.session() as session:
        return list(
            session.scalars(
                select(PrivacyRequest)
                .where(
                    PrivacyRequest.type == "erasure",
                    PrivacyRequest.status == "completed",
                    PrivacyRequest.scope.is_(None),
                    PrivacyRequest.completed_at > now - timedelta(days=AUDIT_WINDOW_DAYS),
                )
                .order_by(PrivacyRequest.completed_at.desc())
                .limit(MAX_REQUESTS)
            )
        )


def _needles(services: Services, request: PrivacyRequest) -> HashedNeedles:
    kept = (request.outcome or {}).get("needle_hashes") or {}
    return HashedNeedles(
        services.keys.pseudonym_secret,
        set(kept.get("hashes", [])),
        [(int(length), int(at)) for length, at in kept.get("emails", [])],
    )


def _files_to_scan(services: Services, since: datetime | None, rng: random.Random) -> list[Path]:
    changed: list[Path] = []
    rest: list[Path] = []
    for path in files_to_search(services):
        try:
            modified = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
        except OSError:
            continue
        (changed if since is None or modified > since else rest).append(path)
    return changed + rng.sample(rest, min(SAMPLE_FILES, len(rest)))


def _union(needles: list[HashedNeedles]) -> HashedNeedles:
    """All requests' identifiers as one search: their hashes share the pseudonym secret, so a
    file or column is read and hashed once whatever the number of requests."""
    return HashedNeedles(
        needles[0].secret,
        set().union(*(n.hashes for n in needles)),
        sorted({shape for n in needles for shape in n.emails}),
    )


def audit_erased_residue(services: Services, now: datetime) -> int:
    """Search recent erasures' identifiers (by keyed hash) in rows, objects, keys and raw files."""
    requests = _recent_erasures(services, now)
    if not requests:
        return 0
    files = _files_to_scan(services, _last(services, "audit.residue"), random.Random(now.timestamp()))
    needles = {request.id: _needles(services, request) for request in requests}
    union = _union(list(needles.values()))
    suspects = files_holding(union, files)
    columns_hit = bool(scan_columns(services, union))
    incidents = 0
    for request in requests:
        found = rows_by_pseudonym(services, request.subject_ref, needles[request.id], scan=False)
        found_in = [f"db:{name}" for name in found["rows"]] + (
            ["objects"] if found["object_versions"] else []
        )
        found_in += ["key store"] if found["data_key_present"] else []
        found_in += scan_columns(services, needles[request.id]) if columns_hit else []
        found_in += [f"file:{path.name}" for path in files_holding(needles[request.id], suspects)]
        if found_in:
            incidents += 1
            _open_incident(services, request, found_in, now)
    with services.db.session() as session:
        record(
            session,
            actor="retention",
            action="audit.residue",
            details={"requests": len(requests), "files": len(files)},
        )
    return incidents


def _open_incident(services: Services, request: PrivacyRequest, found_in: list[str], now: datetime) -> None:
    """Tell operators (compliance report) and delete again what can be found by pseudonym."""
    from headpix.privacy.erasure_scope import delete_rows, parse_scope
    from headpix.privacy.verify import ids_by_pseudonym

    with services.db.session() as session:
        session.add(
            RetentionIncident(
                found_at=now, category="erasure_residue", shoot_id=request.id, object_count=len(found_in)
            )
        )
        record(
            session,
            actor="retention",
            action="erasure.residue_found",
            request_id=request.id,
            details={"found_in": found_in},
        )
    for customer_id in ids_by_pseudonym(services, request.subject_ref):
        with services.db.session() as session:
            delete_rows(session, customer_id, parse_scope(None), held=set())
        services.raw_store.delete_prefix(f"customers/{customer_id}/")
        services.keys.destroy(customer_id)
    log.warning(
        "residue audit: erasure %s had residue in %d place(s); deletion re-run", request.id, len(found_in)
    )


def vacuum_after_erasures(services: Services, now: datetime) -> int:
    """VACUUM every table (and the key store) once erasures completed since the last vacuum."""
    last = _last(services, "vacuum")
    with services.db.session() as session:
        query = select(PrivacyRequest.id).where(
            PrivacyRequest.type == "erasure", PrivacyRequest.status == "completed"
        )
        if last is not None:
            query = query.where(PrivacyRequest.completed_at > last)
        if session.scalar(query.limit(1)) is None:
            return 0
    vacuumed = _vacuum(services.db.engine, [t.name for t in Base.metadata.sorted_tables])
    vacuumed += _vacuum(services.keys.db.engine, ["customer_data_keys"])
    with services.db.session() as session:
        record(session, actor="retention", action="vacuum", details={"tables": vacuumed})
    return vacuumed


def _vacuum(engine: Any, tables: list[str]) -> int:
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return 0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.exec_driver_sql(f'VACUUM "{table}"')
    return len(tables)
