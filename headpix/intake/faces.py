"""Finding the one face a photo shows: dlib's HOG detector at a reduced size first.

A quick pass looks at the photo with its short side at ``detect_side`` px. Only when it finds
nothing does a slower pass look at it large enough to find a face of ``smallest_face_share``
of the short side, so a small face is reported as too small instead of missing. When the
main face is so small that a second face of ``second_face_ratio`` its size could have gone
unseen, one pass at just the size that would show it runs too.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from headpix.intake import facemodel
from headpix.intake.facemodel import DETECTOR_WINDOW_PX, Box, Detection

_CLOSE_UP_PX = 130  # a second face is looked at again with its box this large
_MAX_UPSCALE = 2.0


@dataclass(frozen=True)
class FaceFinding:
    """The main face (largest real detection) and how many other faces are real contenders."""

    box: Box | None
    others: int


@dataclass(frozen=True)
class FaceSearch:
    """How to look: sizes of the passes and what makes a second face count."""

    detect_side: int = 440
    smallest_face_share: float = 0.04
    second_face_ratio: float = 0.6
    second_face_min_score: float = 0.3


def quick_view(gray: np.ndarray, search: FaceSearch) -> tuple[np.ndarray, float]:
    """The photo at the quick pass's size, and that size's scale (at most 1)."""
    scale = min(1.0, search.detect_side / min(gray.shape[:2]))
    if scale >= 0.98:
        return gray, 1.0
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


def find_face(
    gray: np.ndarray, search: FaceSearch, quick: tuple[np.ndarray, float] | None = None
) -> FaceFinding:
    """The main face of an 8-bit grayscale photo (its pixels) and the count of other faces.

    quick is quick_view(gray, search), when the caller already has it.
    """
    small, scale = quick if quick is not None else quick_view(gray, search)
    found = [Detection(_scale_box(d.box, 1.0 / scale), d.score) for d in facemodel.detect(small)]
    if not found:
        # Upscaling more than twice invents no face: a small photo's small face is not worth it.
        slow = DETECTOR_WINDOW_PX / (search.smallest_face_share * min(gray.shape[:2]))
        found = _detect_at(gray, min(slow, _MAX_UPSCALE))
    else:
        main = max(found, key=lambda d: d.box[2])
        contender_px = search.second_face_ratio * main.box[2] * scale
        if contender_px < DETECTOR_WINDOW_PX:
            # A face second_face_ratio x the main one would be under the detector's window here.
            found = _detect_at(gray, scale * DETECTOR_WINDOW_PX / contender_px) or found
    return choose_face(_confirmed(gray, found, search), second_face_ratio=search.second_face_ratio)


def choose_face(boxes: list[Box], *, second_face_ratio: float) -> FaceFinding:
    """Keep the largest face; count others at least second_face_ratio of its side.

    A second person in the frame is about as large as the first, so size relative to the
    main face separates them from faces far in the background (posters, passers-by).
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


def _detect_at(gray: np.ndarray, scale: float) -> list[Detection]:
    """Detections at scale x the photo's size, in the photo's own pixels."""
    if abs(scale - 1.0) < 0.02:
        image, scale = gray, 1.0
    else:
        interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        image = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=interpolation)
    return [Detection(_scale_box(d.box, 1.0 / scale), d.score) for d in facemodel.detect(image)]


def _confirmed(gray: np.ndarray, found: list[Detection], search: FaceSearch) -> list[Box]:
    """Boxes that stay faces when looked at closely; a lone detection needs no second look.

    At a reduced size the HOG detector scores some textures (a shoulder patch, a logo) just
    above zero; seen again with the box at 130 px they drop below 0.3 while faces, even
    tilted ones, score higher (thresholds derived in docs/intake.md).
    """
    if len(found) <= 1:
        return [d.box for d in found]
    confirmed = [d.box for d in found if _close_up_score(gray, d.box) >= search.second_face_min_score]
    if confirmed:
        return confirmed
    return [max(found, key=lambda d: d.box[2]).box]


def _close_up_score(gray: np.ndarray, box: Box) -> float:
    x, y, w, h = box
    cx, cy, side = x + w / 2.0, y + h / 2.0, max(w, h)
    left, top = int(max(0, cx - side)), int(max(0, cy - side))
    right, bottom = int(min(gray.shape[1], cx + side)), int(min(gray.shape[0], cy + side))
    if right - left < 8 or bottom - top < 8:
        return -1.0
    region = gray[top:bottom, left:right]
    scale = _CLOSE_UP_PX / side
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    close = cv2.resize(region, None, fx=scale, fy=scale, interpolation=interpolation)
    centre = ((cx - left) * scale, (cy - top) * scale)
    scores = [
        d.score
        for d in facemodel.detect(close, threshold=-1.0)
        if _centre_inside((round(centre[0]), round(centre[1]), 0, 0), d.box)
    ]
    return max(scores, default=-1.0)


def _scale_box(box: Box, factor: float) -> Box:
    x, y, w, h = box
    return (round(x * factor), round(y * factor), round(w * factor), round(h * factor))


def _centre_inside(box: Box, main: Box) -> bool:
    cx, cy = box[0] + box[2] / 2.0, box[1] + box[3] / 2.0
    return main[0] <= cx <= main[0] + main[2] and main[1] <= cy <= main[1] + main[3]
