"""Real faces for the face tests: the astronaut scikit-image ships and Grace Hopper (tests/data)."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from headpix.samples import phone_shots
from tests.unit.intake_corpus import astronaut, encode

HOPPER = Path(__file__).resolve().parent.parent / "data" / "grace_hopper.jpg"


def hopper_jpeg() -> bytes:
    """A photo of a different real person than the astronaut."""
    return HOPPER.read_bytes()


def hopper_image() -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(hopper_jpeg())).convert("RGB"))


@lru_cache(maxsize=4)
def astronaut_shots(count: int, seed: int = 11) -> tuple[bytes, ...]:
    """Phone-like shots of the astronaut (tilt, mirror, light, framing, JPEG quality)."""
    return tuple(phone_shots(count, seed=seed))


def small_face_in_large_frame(face_px: int = 160, frame_px: int = 3000) -> bytes:
    """The astronaut with a face of about face_px pixels in a frame_px x 3/4 frame_px photo."""
    person = astronaut()
    scale = face_px / 87.0  # dlib's face box on the 512 px astronaut is 87 px wide
    person = cv2.resize(person, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    height, width = frame_px * 3 // 4, frame_px
    rng = np.random.default_rng(3)
    canvas = np.clip(rng.normal(150, 12, (height, width, 3)), 0, 255).astype(np.uint8)
    top, left = height // 3, width // 2
    canvas[top : top + person.shape[0], left : left + person.shape[1]] = person[
        : height - top, : width - left
    ]
    return encode(Image.fromarray(canvas), "JPEG", quality=90)
