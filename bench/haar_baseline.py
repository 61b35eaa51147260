"""The intake's face path before dlib (OpenCV Haar cascade, unaligned crop), for bench/intake.py only.

Kept so the benchmark can time today's path against the old one in the same run. It does
what headpix.intake did per photo: decode, hash, Haar detection (a 256 px pass, then a
640 px pass for small faces), sharpness of the face box, a square crop resized to 512 px.
"""

from __future__ import annotations

import io
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from headpix.intake import IntakeRules, PhotoInput
from headpix.intake.decode import Rejected, decode_photo
from headpix.intake.quality import face_sharpness, find_duplicates, perceptual_hash

Box = tuple[int, int, int, int]


@lru_cache(maxsize=1)
def _cascade() -> cv2.CascadeClassifier:
    path = str(cv2.data.haarcascades) + "haarcascade_frontalface_alt2.xml"  # type: ignore[attr-defined]
    return cv2.CascadeClassifier(path)


def _detect_scaled(gray: np.ndarray, side: int) -> tuple[list[Box], float]:
    scale = min(1.0, side / min(gray.shape))
    small = gray if scale >= 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found = _cascade().detectMultiScale(
        cv2.equalizeHist(small), scaleFactor=1.1, minNeighbors=4, minSize=(20, 20)
    )
    return [tuple(round(int(v) / scale) for v in box) for box in found], scale


def detect_faces(gray: np.ndarray, *, fine_side: int = 640, ratio: float = 0.65) -> list[Box]:
    coarse, coarse_scale = _detect_scaled(gray, 256)
    if coarse and max(box[2] for box in coarse) * coarse_scale * ratio >= 20:
        return coarse
    if min(gray.shape) <= 256:
        return coarse
    fine, _ = _detect_scaled(gray, fine_side)
    return fine or coarse


def crop_square(image: Image.Image, face: Box, *, margin: float, size: int) -> bytes:
    width, height = image.size
    x, y, w, h = face
    side = max(1, min(round(max(w, h) * margin), width, height))
    left = min(max(round(x + w / 2.0 - side / 2.0), 0), width - side)
    top = min(max(round(y + h / 2.0 - side / 2.0), 0), height - side)
    region = image.crop((left, top, left + side, top + side))
    resized = region.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    clean = Image.fromarray(np.asarray(resized.convert("RGB"), dtype=np.uint8), "RGB")
    buffer = io.BytesIO()
    clean.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def check_photos_haar(inputs: list[PhotoInput], rules: IntakeRules) -> int:
    """Number of photos the old path accepts (every file decoded, checked and cropped)."""
    candidates = []
    for index, photo in enumerate(inputs):
        try:
            decoded = decode_photo(photo.data or b"", rules)
        except Rejected:
            continue
        gray = cv2.cvtColor(np.asarray(decoded.image), cv2.COLOR_RGB2GRAY)
        photo_hash = perceptual_hash(gray)
        boxes = detect_faces(gray)
        if not boxes:
            continue
        x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
        sharpness = face_sharpness(gray[y : y + h, x : x + w])
        crop_square(decoded.image, (x, y, w, h), margin=rules.crop_margin, size=rules.crop_size)
        candidates.append((index, photo_hash, sharpness))
    return len(candidates) - len(find_duplicates(candidates, rules.duplicate_distance))
