"""Every reason code in the customer's words, with what to do about it.

The one place the CLI, the emails and the web layer turn intake verdicts into sentences.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from headpix.intake import rules as codes
from headpix.intake.check import IntakeReport, PhotoVerdict
from headpix.intake.rules import IntakeRules


def _megabytes(rules: IntakeRules) -> str:
    return f"{rules.max_file_bytes / (1024 * 1024):g}"


# Each entry: (rules, name of the other file or None) -> sentence.
_SENTENCES: dict[str, Callable[[IntakeRules, str | None], str]] = {
    codes.UNSUPPORTED_FORMAT: lambda r, _: (
        "not a photo we can read — save it as JPEG, PNG, WEBP or HEIC and upload it again"
    ),
    codes.CORRUPT: lambda r, _: "the file is damaged or incomplete — export it again from your photos app",
    codes.FILE_TOO_LARGE: lambda r, _: (
        f"the file is over {_megabytes(r)} MB — upload a smaller copy (your phone's share option makes one)"
    ),
    codes.TOO_MANY_PIXELS: lambda r, _: (
        f"the image has more than {r.max_pixels / 1_000_000:g} megapixels — upload a smaller copy"
    ),
    codes.TOO_SMALL: lambda r, _: (
        f"too small (under {r.min_side_px} px on its short side) — upload the original photo, "
        "not a thumbnail or screenshot"
    ),
    codes.ANIMATED: lambda r, _: "an animation, not a still photo — upload a still photo",
    codes.MALWARE: lambda r, _: (
        "our virus scanner flagged this file — do not upload it; take or export the photo again"
    ),
    codes.NO_FACE: lambda r, _: (
        "no face found — use a photo where your face is clearly visible and turned towards the camera"
    ),
    codes.MULTIPLE_FACES: lambda r, _: "two or more faces — crop to just you, or pick a photo of you alone",
    codes.FACE_TOO_SMALL: lambda r, _: "your face is too small in the frame — crop closer or step closer",
    codes.BLURRY: lambda r, _: "too blurry — hold still, use more light",
    codes.DUPLICATE: lambda r, other: (
        f"duplicate of {other} — keep one of them and add a different shot"
        if other
        else "a near-copy of another photo in your set — add a different shot instead"
    ),
    codes.DIFFERENT_PERSON: lambda r, _: (
        "this looks like a different person than your other photos — upload only photos of yourself"
    ),
    codes.TOO_FEW_PHOTOS: lambda r, _: (
        f"too few usable photos — add clear photos of just you until at least {r.min_photos} are accepted"
    ),
    codes.TOO_MANY_PHOTOS: lambda r, _: f"too many photos — send at most {r.max_photos}",
}


def sentence(code: str, *, other_file: str | None = None, rules: IntakeRules | None = None) -> str:
    """The customer sentence for a reason code; other_file names the photo a duplicate copies."""
    make = _SENTENCES.get(code)
    if make is None:
        return f"refused ({code}) — contact support and quote this code"
    other = posixpath.basename(other_file.replace("\\", "/")) if other_file else None
    return make(rules or IntakeRules(), other)


def known_codes() -> frozenset[str]:
    """Every code that has a sentence."""
    return frozenset(_SENTENCES)


def photo_feedback(verdict: PhotoVerdict, rules: IntakeRules | None = None) -> str:
    """Why one photo was refused, as one line ('' when it was accepted)."""
    return "; ".join(sentence(code, other_file=verdict.duplicate_of, rules=rules) for code in verdict.reasons)


def refusal_lines(report: IntakeReport, rules: IntakeRules | None = None) -> list[str]:
    """One line per refused photo (file, codes, sentences) and one per set-level reason."""
    lines = [
        f"{verdict.file}: {', '.join(verdict.reasons)} — {photo_feedback(verdict, rules)}"
        for verdict in report.photos
        if not verdict.accepted
    ]
    lines += [f"(whole set): {code} — {sentence(code, rules=rules)}" for code in report.reasons]
    return lines
