"""Face descriptors of a shoot's photos, recomputed, to prove none of them was persisted."""

from __future__ import annotations

import cv2
import numpy as np

from headpix.intake import IntakeRules, PhotoInput, check_photos, facemodel
from headpix.intake.decode import decode_photo
from headpix.intake.faces import FaceSearch, find_face
from headpix.intake.identity import template_from_crops


def _descriptor(data: bytes, rules: IntakeRules) -> np.ndarray:
    """What the intake computes for one photo (same decode, detection, landmarks, model)."""
    decoded = decode_photo(data, rules)
    rgb = np.asarray(decoded.image)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    search = FaceSearch(
        detect_side=rules.detect_side,
        smallest_face_share=rules.smallest_face_share,
        second_face_ratio=rules.second_face_ratio,
        second_face_min_score=rules.second_face_min_score,
    )
    box = find_face(gray, search).box
    assert box is not None
    return facemodel.descriptor(rgb, facemodel.landmarks(gray, box))


def needles(photos: list[PhotoInput], rules: IntakeRules) -> dict[str, bytes]:
    """Byte patterns of every per-photo descriptor and of the shoot's reference template."""
    found: dict[str, bytes] = {}
    for photo in photos:
        vector = _descriptor(photo.data or b"", rules)
        found[f"{photo.file} float32"] = vector.astype("<f4").tobytes()
        found[f"{photo.file} float64"] = vector.astype("<f8").tobytes()
        found[f"{photo.file} text"] = f"{float(vector[0])!r}, {float(vector[1])!r}".encode()
    crops = [v.crop for v in check_photos(photos, rules).photos if v.crop is not None]
    template = template_from_crops(crops)
    assert template is not None
    found["template"] = template.to_bytes()
    found["template float32"] = template.vector.astype("<f4").tobytes()
    found["template float64"] = template.vector.astype("<f8").tobytes()
    return found
