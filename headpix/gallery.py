"""The customer's gallery: expiring links, delivery mail text, and exports to a folder."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from headpix.settings import TINY_MODEL, TINY_XL_MODEL, Settings
from headpix.storage import ObjectStore
from schemas.models import GalleryLink, Photoshoot, utcnow

LINK_PATH = "/g/"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(session: Session, shoot_id: str, settings: Settings) -> str:
    """A new unguessable link; only its hash is stored, the token travels in the email."""
    token = secrets.token_urlsafe(32)
    session.add(
        GalleryLink(
            shoot_id=shoot_id,
            token_hash=hash_token(token),
            expires_at=utcnow() + timedelta(days=settings.gallery_link_days),
        )
    )
    return f"{settings.public_url.rstrip('/')}{LINK_PATH}{token}"


def link_in(body: str | None, settings: Settings) -> str | None:
    """The gallery link inside a delivery email body, while our outbox still holds it."""
    if not body:
        return None
    base = re.escape(settings.public_url.rstrip("/") + LINK_PATH)
    found = re.search(base + r"[A-Za-z0-9_\-]+", body)
    return found.group(0) if found else None


def style_counts(shoot: Photoshoot) -> dict[str, int]:
    return dict(Counter(h.style for h in shoot.headshots if h.rendered_at is not None))


def delivery_body(
    name: str,
    url: str,
    counts: dict[str, int],
    refused: str,
    settings: Settings,
    likeness: list[str] | None = None,
) -> str:
    lines = [
        f"Hello {name},",
        "",
        "Your Headpix photoshoot is ready. Your private gallery:",
        url,
        f"(The link expires in {settings.gallery_link_days} days.)",
        "",
    ]
    lines += [f"  {style}: {count} headshots" for style, count in sorted(counts.items())]
    if likeness:
        lines += ["", *likeness]
    if refused:
        lines += ["", "These photos were not used:", refused]
    if settings.base_model in (TINY_MODEL, TINY_XL_MODEL):
        lines += ["", "Note: this demo uses a tiny random-weight model, so the images are noise."]
    lines += [
        "",
        "Your original photos have been deleted now that they are processed.",
        "— Headpix",
    ]
    return "\n".join(lines)


def failure_body(name: str, detail: str) -> str:
    return "\n".join(
        [
            f"Hello {name},",
            "",
            "We could not complete your photoshoot.",
            detail or "Something went wrong on our side.",
            "",
            "Your original photos have been deleted. You are welcome to try again.",
            "— Headpix",
        ]
    )


def export(shoot: Photoshoot, store: ObjectStore, folder: Path) -> list[Path]:
    """Write the rendered headshots of a shoot to a folder, named by style and number."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for headshot in shoot.headshots:
        if headshot.rendered_at is None:
            continue
        path = folder / f"{headshot.style}-{headshot.ordinal + 1:02d}.png"
        path.write_bytes(store.get(headshot.key))
        written.append(path)
    return written
