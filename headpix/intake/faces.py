"""Face detection (OpenCV Haar cascade) and the choice of the one face a photo shows."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

_CASCADE = "haarcascade_frontalface_alt2.xml"
_SCALE_FACTOR = 1.1
_MIN_NEIGHBORS = 4
_MIN_FACE_PX = 20
_COARSE_SIDE = 256

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class FaceFinding:
    """The main face (largest detection) and how many other faces are real contenders."""

    box: Box | None
    others: int


@lru_cache(maxsize=1)
def _cascade() -> cv2.CascadeClassifier:
    path = str(cv2.data.haarcascades) + _CASCADE  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV face cascade missing: {path} (needs opencv-python-headless 4.x)")
    return cascade


def detect_faces(gray: np.ndarray, *, fine_side: int, second_face_ratio: float) -> list[Box]:
    """Face boxes in an 8-bit grayscale image, in its own pixel coordinates.

    A quick pass at a 256 px short side finds selfie-sized faces (upright, up to ~20 degrees);
    only when it finds none, or a face so small that a second face half its size could be
    missed, does a slower pass at fine_side look for small faces.
    """
    coarse, coarse_scale = _detect_scaled(gray, _COARSE_SIDE)
    if coarse and max(box[2] for box in coarse) * coarse_scale * second_face_ratio >= _MIN_FACE_PX:
        return coarse
    if min(gray.shape) <= _COARSE_SIDE:
        return coarse
    fine, _ = _detect_scaled(gray, fine_side)
    return fine or coarse


def _detect_scaled(gray: np.ndarray, side: int) -> tuple[list[Box], float]:
    scale = min(1.0, side / min(gray.shape))
    small = gray if scale >= 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found = _detect(cv2.equalizeHist(small))
    return [_scale_box(box, 1.0 / scale) for box in found], scale


def _detect(gray: np.ndarray) -> list[Box]:
    found = _cascade().detectMultiScale(
        gray,
        scaleFactor=_SCALE_FACTOR,
        minNeighbors=_MIN_NEIGHBORS,
        minSize=(_MIN_FACE_PX, _MIN_FACE_PX),
    )
    return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


def _scale_box(box: Box, factor: float) -> Box:
    x, y, w, h = box
    return (
        round(x * factor),
        round(y * factor),
        round(w * factor),
        round(h * factor),
    )


def choose_face(boxes: list[Box], *, second_face_ratio: float) -> FaceFinding:
    """Keep the largest face; count others at least second_face_ratio of its side.

    Haar cascades fire on textured backgrounds with small boxes; a second person in the
    frame is about as large as the first, so size relative to the main face separates them.
    """
    if not boxes:
        return FaceFinding(box=None, others=0)
    main = max(boxes, key=lambda b: b[2] * b[3])
    others = 0
    for box in boxes:
        if box is main or _centre_inside(box, main):
            continue
        if box[2] >= second_face_ratio * main[2]:
            others += 1
    return FaceFinding(box=main, others=others)


def _centre_inside(box: Box, main: Box) -> bool:
    cx, cy = box[0] + box[2] / 2.0, box[1] + box[3] / 2.0
    return main[0] <= cx <= main[0] + main[2] and main[1] <= cy <= main[1] + main[3]
