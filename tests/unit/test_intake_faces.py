"""Faces understood: no good selfie refused, small faces named, one person per shoot."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from headpix.intake import IntakeRules, PhotoInput, check_photos, facemodel
from headpix.intake.identity import ReferenceTemplate, one_person, template_from_crops
from tests.unit import faces_corpus as faces

RULES = IntakeRules(min_photos=1, max_photos=200)
FALSE_REJECT_SET = 90


def inputs(photos: list[tuple[str, bytes]]) -> list[PhotoInput]:
    return [PhotoInput(name, data, len(data)) for name, data in photos]


def test_phone_shots_of_one_real_person_are_all_accepted() -> None:
    """Tilt ±15°, mirror, brightness 0.65-1.25, contrast, portrait/square, JPEG 72-95: 0 refused."""
    shots = faces.astronaut_shots(FALSE_REJECT_SET)
    report = check_photos(inputs([(f"IMG_{i:04d}.jpg", d) for i, d in enumerate(shots)]), RULES)
    refused = [(p.file, p.reasons) for p in report.photos if not p.accepted]
    assert refused == [], f"false-reject rate {len(refused)}/{FALSE_REJECT_SET}"
    assert len(report.usable) == FALSE_REJECT_SET and report.accepted


def test_small_face_in_a_large_frame_is_too_small_not_missing() -> None:
    verdict = check_photos(inputs([("far.jpg", faces.small_face_in_large_frame())]), RULES).photos[0]
    assert verdict.reasons == ["face_too_small"]
    assert verdict.face_box is not None and 130 <= verdict.face_box[2] <= 200


def test_a_different_person_is_refused_by_name() -> None:
    shots = [(f"me-{i}.jpg", d) for i, d in enumerate(faces.astronaut_shots(6, seed=21))]
    shots.insert(3, ("someone-else.jpg", faces.hopper_jpeg()))
    report = check_photos(inputs(shots), RULES)
    verdicts = {p.file: p for p in report.photos}
    assert verdicts["someone-else.jpg"].reasons == ["different_person"]
    assert verdicts["someone-else.jpg"].crop is None
    assert [p.file for p in report.usable] == [name for name, _ in shots if name != "someone-else.jpg"]


def test_the_person_most_photos_show_is_the_customer() -> None:
    rng = np.random.default_rng(0)
    me = [rng.normal(0, 0.01, 128) + 0.1 for _ in range(3)]
    other = [rng.normal(0, 0.01, 128) - 0.1 for _ in range(2)]
    outsiders, template = one_person([other[0], *me, other[1]])
    assert outsiders == [0, 4]
    assert template is not None and template.photos == 3
    assert one_person([]) == ([], None)


def test_crop_is_face_centred_with_eyes_level() -> None:
    tilted = faces.astronaut_shots(40)
    for data in tilted[:8]:
        verdict = check_photos(inputs([("t.jpg", data)]), RULES).photos[0]
        assert verdict.crop is not None
        crop = np.asarray(Image.open(io.BytesIO(verdict.crop)).convert("RGB"))
        gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        found = facemodel.detect(gray)
        assert len(found) == 1
        x, y, w, h = found[0].box
        left, right = facemodel.landmarks(gray, found[0].box).eyes
        assert abs(left[1] - right[1]) <= 0.06 * (right[0] - left[0])  # eyes level: under ~3.5°
        assert abs(x + w / 2 - 256) <= 0.12 * 512 and abs(y + h / 2 - 256) <= 0.12 * 512


def test_reference_template_round_trips_and_hides_in_repr() -> None:
    crops = [
        v.crop
        for v in check_photos(inputs([("a.jpg", d) for d in faces.astronaut_shots(3, seed=5)]), RULES).photos
        if v.crop is not None
    ]
    template = template_from_crops(crops)
    assert template is not None and template.photos == 3
    again = ReferenceTemplate.from_bytes(template.to_bytes())
    assert np.array_equal(again.vector, template.vector) and again.photos == 3
    assert "vector" not in repr(template)
    with pytest.raises(ValueError, match="not a Headpix reference template"):
        ReferenceTemplate.from_bytes(b"x" * 40)


def test_research_only_landmark_model_is_never_loaded() -> None:
    with pytest.raises(ValueError, match="research only"):
        facemodel.model_path("shape_predictor_68_face_landmarks.dat")
    assert facemodel.model_path(facemodel.LANDMARKS_MODEL).name == "shape_predictor_5_face_landmarks.dat"
    assert not facemodel.RESEARCH_ONLY_MODELS & {facemodel.LANDMARKS_MODEL, facemodel.DESCRIPTOR_MODEL}
