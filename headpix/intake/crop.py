"""Aligned, face-centred square crops, re-encoded from pixels only so no metadata survives."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from headpix.intake.facemodel import Box, Landmarks

# The face's centre lies this many eye distances below the midpoint of the eyes.
_CENTRE_BELOW_EYES = 0.5
# Near the photo's edge the square shrinks towards the face, down to this many face sides.
_MIN_MARGIN = 1.6


@dataclass(frozen=True)
class AlignedFace:
    """The crop (PNG of size x size, eyes level) and the grayscale face inside it."""

    png: bytes = field(repr=False)
    face_gray: np.ndarray = field(repr=False)


def aligned_crop(rgb: np.ndarray, marks: Landmarks, box: Box, *, margin: float, size: int) -> AlignedFace:
    """A size x size square of margin x the face side around the face, rotated so the eyes are level."""
    height, width = rgb.shape[:2]
    left_eye, right_eye = marks.eyes
    dx, dy = right_eye - left_eye
    angle = math.degrees(math.atan2(dy, dx))
    eye_distance = max(math.hypot(dx, dy), 1.0)
    middle = (left_eye + right_eye) / 2.0
    # Straight down from the eyes, in the face's own frame.
    down = np.array([-dy, dx]) / eye_distance
    cx, cy = middle + down * _CENTRE_BELOW_EYES * eye_distance
    face_side = float(max(box[2], box[3]))
    side = margin * face_side
    room = 2.0 * min(cx, cy, width - cx, height - cy)
    side = min(max(min(side, room), _MIN_MARGIN * face_side), width, height)
    cx = min(max(cx, side / 2.0), width - side / 2.0)
    cy = min(max(cy, side / 2.0), height - side / 2.0)
    region, (rx, ry), shrink = _region(rgb, cx, cy, side, size)
    matrix = np.asarray(cv2.getRotationMatrix2D((rx, ry), angle, size / (side * shrink)), np.float64)
    matrix[:, 2] += np.array([size / 2.0 - rx, size / 2.0 - ry])
    out = cv2.warpAffine(
        region, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101
    )
    inner = round(size / (2.0 * margin))
    middle_px = size // 2
    face = out[middle_px - inner : middle_px + inner, middle_px - inner : middle_px + inner]
    return AlignedFace(png=_png(out), face_gray=cv2.cvtColor(face, cv2.COLOR_RGB2GRAY))


def _region(
    rgb: np.ndarray, cx: float, cy: float, side: float, size: int
) -> tuple[np.ndarray, tuple[float, float], float]:
    """The pixels around the rotated square, halved (Gaussian pyramid) while much larger than size.

    Returns the region, the face centre in its pixels, and the factor it was shrunk by; the
    warp that follows then scales by 2/3 at least, which its cubic filter handles.
    """
    height, width = rgb.shape[:2]
    reach = side * math.sqrt(0.5) + 2.0
    x0, y0 = max(0, int(cx - reach)), max(0, int(cy - reach))
    x1, y1 = min(width, math.ceil(cx + reach)), min(height, math.ceil(cy + reach))
    region = rgb[y0:y1, x0:x1]
    shrink = 1.0
    while side * shrink > 1.5 * size and min(region.shape[:2]) >= 4:
        shrunk = cv2.pyrDown(region)
        shrink *= 0.5  # pyrDown keeps every other pixel of the smoothed image
        region = shrunk
    return np.ascontiguousarray(region), ((cx - x0) * shrink, (cy - y0) * shrink), shrink


def _png(pixels: np.ndarray) -> bytes:
    """PNG of raw RGB pixels: a fresh encoding, so no EXIF, GPS, XMP, IPTC, ICC or comment follows."""
    bgr = np.ascontiguousarray(pixels[..., ::-1], dtype=np.uint8)
    # Fast settings: the crop is read once, by training, and deleted soon after.
    options = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
    ok, encoded = cv2.imencode(".png", bgr, options)
    if not ok:
        raise ValueError("could not encode the crop as PNG")
    return encoded.tobytes()
