"""Photos arrive one per request, streamed into memory under limits, checked, and kept sealed.

Each ``PUT /api/draft/photos?name=…`` body is the photo itself: nothing is spooled to disk
(no multipart, no temporary file). Limits (bytes per file, files per shoot, total bytes) are
enforced as the bytes arrive, so an oversized upload is refused before its body is read.
"""

from __future__ import annotations

import re

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from headpix import drafts
from headpix.intake import IntakeRules, PhotoInput, scanner_from_settings
from headpix.intake import rules as codes
from headpix.intake.check import check_one
from headpix.intake.feedback import sentence
from headpix.intake.quality import hash_distance
from headpix.services import Services
from schemas.web import DraftOut, PhotoFeedbackOut
from web.deps import WebError

MB = 1024 * 1024


def clean_name(name: str) -> str:
    """A display name for the file: its last path part, printable, at most 120 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return (base or "photo")[-120:]


def _limits(services: Services, customer_id: str) -> tuple[int, list[drafts.DraftPhoto]]:
    settings = services.settings
    existing = drafts.list_drafts(services, customer_id)
    if len(existing) >= settings.max_photos:
        raise WebError(
            413,
            "too_many_files",
            f"A photoshoot takes at most {settings.max_photos} photos; remove some first.",
        )
    total_left = int(settings.upload_max_total_mb * MB) - sum(row.size_bytes for row in existing)
    return min(int(settings.max_file_mb * MB), total_left), existing


def _too_large(services: Services, cap: int) -> WebError:
    per_file = int(services.settings.max_file_mb * MB)
    if cap < per_file:
        return WebError(
            413,
            "total_too_large",
            f"Your photos together would exceed {services.settings.upload_max_total_mb:g} MB"
            " — remove some first.",
        )
    return WebError(
        413,
        "file_too_large",
        _as_message(sentence(codes.FILE_TOO_LARGE, rules=IntakeRules.from_settings(services.settings))),
    )


def _as_message(text: str) -> str:
    """A sentence from the intake's table, as a message: capital first letter, full stop."""
    return text[:1].upper() + text[1:] + "."


async def receive_photo(
    request: Request, services: Services, customer_id: str, name: str
) -> PhotoFeedbackOut:
    """Stream one photo through intake; keep it sealed in the draft area when accepted."""
    cap, existing = await run_in_threadpool(_limits, services, customer_id)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(services, cap)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > cap:
            raise _too_large(services, cap)
    return await run_in_threadpool(
        _judge_and_keep, services, customer_id, clean_name(name), bytes(data), existing
    )


def _judge_and_keep(
    services: Services, customer_id: str, name: str, data: bytes, existing: list[drafts.DraftPhoto]
) -> PhotoFeedbackOut:
    rules = IntakeRules.from_settings(services.settings)
    scanner = scanner_from_settings(services.settings)
    verdict, photo_hash = check_one(PhotoInput(file=name, data=data, size=len(data)), rules, scanner=scanner)
    other: str | None = None
    if verdict.accepted and photo_hash is not None:
        for row in existing:
            if (
                row.sha256 == verdict.sha256
                or hash_distance(int(row.phash, 16), photo_hash) <= rules.duplicate_distance
            ):
                other = drafts.filename_of(services, row)
                verdict.accepted, verdict.reasons = False, [codes.DUPLICATE]
                break
    photo_id = None
    if verdict.accepted and photo_hash is not None and verdict.sha256:
        photo_id = drafts.add_photo(
            services,
            customer_id=customer_id,
            filename=name,
            data=data,
            sha256=verdict.sha256,
            phash=f"{photo_hash:x}",
        )
    return PhotoFeedbackOut(
        file=name,
        accepted=verdict.accepted,
        reasons=list(verdict.reasons),
        sentences=[sentence(r, other_file=other, rules=rules) for r in verdict.reasons],
        photo_id=photo_id,
    )


def draft_state(services: Services, customer_id: str, *, proven: bool) -> DraftOut:
    settings = services.settings
    rows = drafts.list_drafts(services, customer_id)
    photos = [
        PhotoFeedbackOut(
            file=drafts.filename_of(services, r), accepted=True, reasons=[], sentences=[], photo_id=r.id
        )
        for r in rows
    ]
    needed = max(0, settings.min_photos - len(rows))
    ready = needed == 0 and len(rows) <= settings.max_photos
    if not ready:
        message = f"Add {needed} more photo{'s' if needed != 1 else ''} of just you."
    elif not proven:
        message = "Your photos are ready. Open the link we emailed you to confirm your address, then start."
    else:
        message = "Your photos are ready. Start your photoshoot when you like."
    return DraftOut(photos=photos, needed=needed, ready=ready, address_proven=proven, message=message)
