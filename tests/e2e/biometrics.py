"""Face descriptors of a shoot's photos, recomputed, to prove none of them was persisted,
and the folders Ray writes to, where the reference template travels inside each job."""

from __future__ import annotations

from pathlib import Path

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


def ray_folders() -> list[Path]:
    """The folders the Ray running in this process writes to disk: its temp folder (sessions,
    their logs and sockets) and the object spill folder. Fails when they cannot be found, so a
    scan over them can never pass on nothing."""
    from ray._private import worker

    node = worker._global_node
    assert node is not None, "no local Ray node in this process: its temp folder is unknown"
    temp = Path(node.get_temp_dir_path())
    logs = Path(node.get_logs_dir_path())
    spill_dir = node._ray_params.object_spilling_directory
    assert temp.is_dir(), f"Ray's temp folder {temp} does not exist"
    assert logs.is_dir() and logs.is_relative_to(temp), f"Ray's logs {logs} are not in {temp}"
    assert any(logs.iterdir()), f"Ray's log folder {logs} is empty"
    assert spill_dir and Path(spill_dir).is_dir(), f"Ray's spill folder {spill_dir!r} does not exist"
    spill = Path(spill_dir)
    return [temp] if spill.is_relative_to(temp) else [temp, spill]
