"""One person per shoot, and how much a headshot looks like them.

Face descriptors (dlib's 128-d ResNet embedding) are biometric data. Per-photo descriptors
live in memory during intake only; the one thing kept is a shoot's reference template (the
mean descriptor of its accepted photos), stored sealed beside the identity model and erased
with it. Nothing here logs, prints or returns a descriptor in a form meant to be stored.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from headpix.intake import facemodel
from headpix.intake.facemodel import DESCRIPTOR_SIZE, DETECTOR_WINDOW_PX

# dlib's model puts photos of one person within 0.6 of each other (its training margin).
SAME_PERSON_DISTANCE = 0.6
_MAGIC = b"HPXTPL1\n"
_HEADER = struct.Struct("<H")


@dataclass(frozen=True)
class ReferenceTemplate:
    """The shoot's reference face: mean descriptor of its accepted photos (repr hides it)."""

    vector: np.ndarray = field(repr=False)
    photos: int

    def to_bytes(self) -> bytes:
        """A small binary form, to be stored sealed only."""
        values = np.asarray(self.vector, dtype="<f4")
        return _MAGIC + _HEADER.pack(self.photos) + values.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReferenceTemplate:
        """Read to_bytes' form; a ValueError says the bytes are not a template."""
        size = len(_MAGIC) + _HEADER.size + 4 * DESCRIPTOR_SIZE
        if len(data) != size or not data.startswith(_MAGIC):
            raise ValueError("not a Headpix reference template (wrong header or size)")
        (photos,) = _HEADER.unpack_from(data, len(_MAGIC))
        vector = np.frombuffer(data, dtype="<f4", offset=len(_MAGIC) + _HEADER.size).astype(np.float32)
        return cls(vector=vector, photos=photos)


def distance(first: np.ndarray, second: np.ndarray) -> float:
    """Euclidean distance between two descriptors (under 0.6: the same person, for dlib)."""
    return float(np.linalg.norm(np.asarray(first, np.float64) - np.asarray(second, np.float64)))


def likeness(face_distance: float | None) -> float:
    """0-1 score from a descriptor distance: 1 identical, 0.5 at dlib's same-person boundary,
    0 at twice that distance or when no face was found."""
    if face_distance is None:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - face_distance / (2.0 * SAME_PERSON_DISTANCE))))


def one_person(
    descriptors: list[np.ndarray], *, max_distance: float = SAME_PERSON_DISTANCE
) -> tuple[list[int], ReferenceTemplate | None]:
    """Positions of photos of someone else, and the template of the person most photos show.

    The anchor is the photo with the most others within max_distance (ties: the one closest
    to all, then the earliest); the person is the mean of the anchor's neighbours, and a
    photo farther than max_distance from that mean shows someone else.
    """
    if not descriptors:
        return [], None
    stack = np.stack([np.asarray(d, np.float64) for d in descriptors])
    pairwise = np.linalg.norm(stack[:, None, :] - stack[None, :, :], axis=2)
    close = pairwise <= max_distance
    anchor = max(range(len(stack)), key=lambda i: (int(close[i].sum()), -float(pairwise[i].sum()), -i))
    centre = stack[close[anchor]].mean(axis=0)
    members = np.linalg.norm(stack - centre, axis=1) <= max_distance
    members[anchor] = True
    outsiders = [int(i) for i in np.flatnonzero(~members)]
    template = ReferenceTemplate(stack[members].mean(axis=0).astype(np.float32), int(members.sum()))
    return outsiders, template


def template_of(descriptors: list[np.ndarray]) -> ReferenceTemplate | None:
    """The reference template of photos already known to show one person."""
    if not descriptors:
        return None
    stack = np.stack([np.asarray(d, np.float64) for d in descriptors])
    return ReferenceTemplate(stack.mean(axis=0).astype(np.float32), len(descriptors))


def largest_face_descriptor(rgb: np.ndarray, *, detect_side: int = 400) -> np.ndarray | None:
    """The descriptor of the largest face in an RGB image (a rendered headshot), or None."""
    gray = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    scale = min(1.0, detect_side / min(gray.shape[:2]))
    small = gray if scale >= 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found = facemodel.detect(small)
    if not found and min(small.shape[:2]) < 4 * DETECTOR_WINDOW_PX:
        small = cv2.resize(small, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
        scale *= 2.0
        found = facemodel.detect(small)
    if not found:
        return None
    x, y, w, h = max(found, key=lambda d: d.box[2]).box
    box = (round(x / scale), round(y / scale), round(w / scale), round(h / scale))
    return facemodel.descriptor(rgb, facemodel.landmarks(rgb, box))


def template_from_crops(crops: list[bytes]) -> ReferenceTemplate | None:
    """The reference template of a shoot from its accepted crops (aligned PNGs), or None."""
    found = []
    for crop in crops:
        with Image.open(io.BytesIO(crop)) as image:
            rgb = np.asarray(image.convert("RGB"))
        descriptor = largest_face_descriptor(rgb, detect_side=min(rgb.shape[:2]))
        if descriptor is not None:
            found.append(descriptor)
    return template_of(found)
