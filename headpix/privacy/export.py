"""Access and portability: one zip archive of everything we hold about a customer.

The archive holds ``headpix-export.json`` (format in ``docs/privacy.md``, versioned by
``schema_version``) and the rendered headshots under ``headshots/``. It is stored sealed
with the customer's data key, announced by mail with an expiring link (only the token's
hash is kept), and deleted with every version once ``export_days`` have passed.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from headpix import personal
from headpix.links import LINK
from headpix.privacy.audit import record
from headpix.privacy.crypto import KeyRing
from headpix.privacy.request_mail import dispatch_request_mail, notify
from headpix.privacy.requests import RequestRefused, RequestStatus, RequestType, load_request, move
from headpix.services import Services
from headpix.storage import Keys, ObjectStore
from schemas.models import Customer, Photoshoot, new_id, utcnow
from schemas.privacy import Consent, DataExport, PrivacyRequest, Restriction, Suppression

SCHEMA = "headpix-export"
SCHEMA_VERSION = 1
DOCUMENT = "headpix-export.json"
R = RequestStatus


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


Files = list[tuple[str, str]]  # (path in the archive, storage key)


def export_document(
    session: Session, keys: KeyRing, customer: Customer, *, now: datetime
) -> tuple[dict[str, Any], Files]:
    """The JSON document and the (archive path, storage key) of each rendered headshot."""
    files: Files = []
    per_style: dict[str, int] = {}
    shoots = []
    for shoot in session.scalars(
        select(Photoshoot).where(Photoshoot.customer_id == customer.id).order_by(Photoshoot.created_at)
    ):
        headshots = []
        for headshot in shoot.headshots:
            path = None
            if headshot.rendered_at is not None:
                per_style[headshot.style] = per_style.get(headshot.style, 0) + 1
                path = f"headshots/{headshot.style}-{per_style[headshot.style]:02d}.png"
                files.append((path, headshot.key))
            prompt, negative = personal.prompts_of(keys, customer.id, headshot)
            headshots.append(
                {
                    "id": headshot.id,
                    "style": headshot.style,
                    "prompt": prompt,
                    "negative_prompt": negative,
                    "seed": headshot.seed,
                    "rendered_at": _iso(headshot.rendered_at),
                    "likeness": headshot.likeness,
                    "file": path,
                }
            )
        shoots.append(
            {
                "id": shoot.id,
                "status": shoot.status,
                "created_at": _iso(shoot.created_at),
                "delivered_at": _iso(shoot.delivered_at),
                "styles": list(shoot.styles),
                "images_per_style": shoot.images_per_style,
                "likeness_median": shoot.likeness_median,
                "photos": [
                    {
                        "filename": personal.filename_of(keys, customer.id, p),
                        "verdict": p.verdict,
                        "reasons": list(p.reasons),
                        "width": p.width,
                        "height": p.height,
                        "uploaded_at": _iso(p.uploaded_at),
                        "deleted_at": _iso(p.purged_at),
                    }
                    for p in shoot.photos
                ],
                "headshots": headshots,
            }
        )
    consents = session.scalars(select(Consent).where(Consent.customer_id == customer.id).order_by(Consent.at))
    requests = session.scalars(
        select(PrivacyRequest)
        .where(PrivacyRequest.customer_id == customer.id)
        .order_by(PrivacyRequest.created_at)
    )
    restrictions = session.scalars(select(Restriction).where(Restriction.customer_id == customer.id))
    suppressed = session.scalar(select(Suppression.id).where(Suppression.customer_id == customer.id).limit(1))
    document = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.isoformat(),
        "customer": {
            "id": customer.id,
            "name": personal.name_of(keys, customer),
            "email": personal.email_of(keys, customer),
            "gender": customer.gender,
            "created_at": _iso(customer.created_at),
            "last_active_at": _iso(customer.last_active_at),
        },
        "preferences": personal.preferences_of(keys, customer),
        "consents": consent_history(customer, list(consents)),
        "marketing": {"objected": suppressed is not None},
        "restrictions": [
            {"placed_at": _iso(r.placed_at), "lifted_at": _iso(r.lifted_at)} for r in restrictions
        ],
        "requests": [
            {
                "id": r.id,
                "type": r.type,
                "status": r.status,
                "created_at": _iso(r.created_at),
                "confirmed_at": _iso(r.confirmed_at),
                "due_at": _iso(r.due_at),
                "completed_at": _iso(r.completed_at),
            }
            for r in requests
        ],
        "shoots": shoots,
    }
    return document, files


def consent_history(customer: Customer, consents: list[Consent]) -> list[dict[str, Any]]:
    """Consent events; the one given at sign-up (kept on the customer) comes first."""
    events = [
        {"policy_version": c.policy_version, "action": c.action, "channel": c.channel, "at": _iso(c.at)}
        for c in consents
    ]
    if not any(e["policy_version"] == customer.policy_version and e["action"] == "accepted" for e in events):
        events.insert(
            0,
            {
                "policy_version": customer.policy_version,
                "action": "accepted",
                "channel": customer.consent_channel,
                "at": _iso(customer.consented_at),
            },
        )
    return events


def build_archive(document: dict[str, Any], files: Files, store: ObjectStore) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(DOCUMENT, json.dumps(document, indent=2, ensure_ascii=False))
        for path, key in files:
            archive.writestr(path, store.get(key))
    return buffer.getvalue()


def export_data(services: Services, request_id: str, now: datetime) -> None:
    """Build, store and announce the archive; the request completes."""
    settings = services.settings
    with services.db.session() as session:
        request = load_request(session, request_id)
        customer = session.get(Customer, request.customer_id)
        assert customer is not None
        move(session, request, R.in_progress, actor="system")
        document, files = export_document(session, services.keys, customer, now=now)
        export_id = new_id()
        key = Keys.customer(customer.id) + f"exports/{export_id}.zip"
        services.store.put(key, build_archive(document, files, services.store))
        expires_at = now + timedelta(days=settings.export_days)
        session.add(
            DataExport(
                id=export_id,
                request_id=request.id,
                customer_id=customer.id,
                key=key,
                token_hash="",  # minted with the link when the mail is sent (headpix.links)
                expires_at=expires_at,
                created_at=now,
            )
        )
        session.flush()
        notify(
            session,
            services.keys,
            request,
            kind="export_ready",
            tag="export",
            to=personal.email_of(services.keys, customer),
            subject="Your Headpix data export is ready",
            lines=[
                "The copy of your data you asked for is ready to download:",
                LINK,
                f"The link expires in {settings.export_days} days; then the archive is deleted.",
                "It holds headpix-export.json (your details, preferences, consents, requests,",
                "shoots and photo verdicts) and your headshots, in a documented format.",
            ],
        )
        request.outcome = {"headshots": len(files), "shoots": len(document["shoots"])}
        request.completed_at = now
        move(session, request, R.completed, actor="system", headshots=len(files))
    dispatch_request_mail(services, request_id)


def write_export(services: Services, request_id: str, folder: Path, *, now: datetime | None = None) -> Path:
    """Write the stored archive of a completed access or portability request into a folder."""
    now = now or utcnow()
    with services.db.session() as session:
        request = load_request(session, request_id)
        if request.type not in (RequestType.access.value, RequestType.portability.value):
            raise RequestRefused(f"request {request_id} is a {request.type} request; it has no export")
        row = session.scalar(select(DataExport).where(DataExport.request_id == request_id))
        if row is None:
            raise RequestRefused(f"request {request_id} is {request.status}; it has no export (yet)")
        if now >= row.expires_at:
            raise RequestRefused(f"the export of request {request_id} has expired; submit a new request")
        key = row.key
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"headpix-export-{request_id}.zip"
    path.write_bytes(services.store.get(key))
    return path


def delete_expired_exports(services: Services, now: datetime) -> int:
    """Delete every version of each expired archive and its row; return how many went."""
    with services.db.session() as session:
        expired = session.scalars(select(DataExport).where(DataExport.expires_at <= now)).all()
        deleted = 0
        for row in expired:
            services.raw_store.delete(row.key)
            record(session, actor="system", action="export.deleted", request_id=row.request_id)
            session.delete(row)
            deleted += 1
    return deleted
