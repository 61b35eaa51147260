"""One plain sentence per intake reason code, saying what to do: shared by the CLI and the web."""

from __future__ import annotations

from headpix.intake import rules as codes

SENTENCES: dict[str, str] = {
    codes.UNSUPPORTED_FORMAT: "We can't read this kind of file — upload a JPEG, PNG, WebP or HEIC photo.",
    codes.CORRUPT: "This file looks damaged — export the photo again and upload the new copy.",
    codes.FILE_TOO_LARGE: "This file is too large — upload a smaller copy of the photo.",
    codes.TOO_MANY_PIXELS: "This photo has too many pixels — upload a resized copy.",
    codes.TOO_SMALL: "This photo is too small — upload the original, full-size photo.",
    codes.ANIMATED: "This is an animation — upload a still photo.",
    codes.NO_FACE: "We couldn't find a face — use a photo where your face is clearly visible.",
    codes.MULTIPLE_FACES: "Two or more faces — crop the photo to just you.",
    codes.FACE_TOO_SMALL: "Your face is too small in this photo — crop closer or use a closer photo.",
    codes.BLURRY: "Too blurry — use a sharp photo with your face in focus.",
    codes.DUPLICATE: "Duplicate of another photo — use a different photo.",
    codes.MALWARE: "This file was flagged as unsafe — upload a different photo.",
    codes.TOO_FEW_PHOTOS: "Not enough usable photos yet — add more photos of just you.",
    codes.TOO_MANY_PHOTOS: "Too many photos — remove some before starting.",
}


def sentence(reason: str, *, other_file: str | None = None) -> str:
    """The customer's sentence for a reason code; ``other_file`` names the photo a duplicate repeats."""
    if reason == codes.DUPLICATE and other_file:
        return f"Duplicate of {other_file} — use a different photo."
    return SENTENCES.get(reason, "This photo can't be used — try a different photo.")
