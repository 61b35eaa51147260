"""Style packs (versioned data file) turned into a shoot's planned renders."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

STYLE_PACKS_FILE = Path(__file__).parent / "data" / "style_packs.v1.json"
_MAX_PREFERENCE_CHARS = 60  # a preference is a short phrase; longer text would crowd out the identity


@dataclass(frozen=True)
class StylePack:
    name: str
    prompt: str
    negative_prompt: str
    images: int
    defaults: dict[str, str]


@dataclass(frozen=True)
class PlannedRender:
    style: str
    prompt: str
    negative_prompt: str
    seed: int


@lru_cache(maxsize=1)
def load_style_packs() -> dict[str, StylePack]:
    """Read the packs shipped in headpix/data (the version is in the file name and the file)."""
    raw = json.loads(STYLE_PACKS_FILE.read_text(encoding="utf-8"))
    return {
        name: StylePack(
            name=name,
            prompt=p["prompt"],
            negative_prompt=p["negative_prompt"],
            images=int(p["images"]),
            defaults=dict(p.get("defaults", {})),
        )
        for name, p in raw["packs"].items()
    }


def style_pack_version() -> int:
    return int(json.loads(STYLE_PACKS_FILE.read_text(encoding="utf-8"))["version"])


def _phrase(value: object) -> str:
    """A preference as a clean short phrase: no template braces, no runs of whitespace."""
    if value is None or isinstance(value, bool):
        return ""
    text = re.sub(r"[{}\n\r\t]+", " ", str(value))
    text = re.sub(r"\s+", " ", text).strip(" ,.")
    return text[:_MAX_PREFERENCE_CHARS].strip()


def fill_prompt(pack: StylePack, preferences: dict[str, object], subject: str) -> str:
    """Fill a pack's template; a missing preference falls back to the pack default or drops out."""
    attire = _phrase(preferences.get("attire")) or pack.defaults.get("attire", "smart clothes")
    background = _phrase(preferences.get("background")) or pack.defaults.get("background", "plain background")
    expression = _phrase(preferences.get("expression")) or pack.defaults.get(
        "expression", "natural expression"
    )
    hair = _phrase(preferences.get("hair"))
    age = _phrase(preferences.get("age_range"))
    prompt = pack.prompt.format(
        subject=subject,
        age=f" aged {age}" if age else "",
        expression=expression,
        hair=f"{hair} hair, " if hair else "",
        glasses="with glasses, " if preferences.get("glasses") is True else "",
        attire=attire,
        background=background,
    )
    return re.sub(r"\s+", " ", prompt).strip()


def plan_renders(
    styles: list[str],
    preferences: dict[str, object],
    *,
    identity_token: str,
    class_word: str,
    images_per_style: int,
    base_seed: int,
) -> list[PlannedRender]:
    """One planned render per image, style by style; seed = base_seed + index (recorded)."""
    packs = load_style_packs()
    unknown = [s for s in styles if s not in packs]
    if unknown:
        raise ValueError(f"unknown style {', '.join(unknown)}; known styles: {', '.join(sorted(packs))}")
    subject = f"{identity_token} {class_word}".strip()
    planned: list[PlannedRender] = []
    for style in styles:
        pack = packs[style]
        prompt = fill_prompt(pack, preferences, subject)
        for _ in range(images_per_style if images_per_style > 0 else pack.images):
            planned.append(PlannedRender(style, prompt, pack.negative_prompt, base_seed + len(planned)))
    return planned


def describe_packs() -> list[dict[str, Any]]:
    """Names and image counts only, for operators and the web layer."""
    return [{"name": p.name, "images": p.images} for p in load_style_packs().values()]
