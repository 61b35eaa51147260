"""The customer's gallery: delivery mail text and exports to a folder.

The gallery link is minted when the delivery mail is sent (``headpix.links``): the queued
body holds only a placeholder, and only the token's hash is stored.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from headpix import links
from headpix.settings import TINY_MODEL, TINY_XL_MODEL, Settings
from headpix.storage import ObjectStore
from schemas.models import Photoshoot


def style_counts(shoot: Photoshoot) -> dict[str, int]:
    return dict(Counter(h.style for h in shoot.headshots if h.rendered_at is not None))


def delivery_body(
    name: str,
    counts: dict[str, int],
    refused: str,
    settings: Settings,
    likeness: list[str] | None = None,
) -> str:
    lines = [
        f"Hello {name},",
        "",
        "Your Headpix photoshoot is ready. Your private gallery:",
        links.LINK,
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
