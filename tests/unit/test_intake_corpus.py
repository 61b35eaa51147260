"""The hostile corpus: each file gets the right verdict and reason code, and nothing raises."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from headpix.errors import UsageError
from headpix.intake import (
    PHOTO_REASONS,
    IntakeRules,
    PhotoInput,
    PhotoVerdict,
    check_photos,
    collect_files,
)
from headpix.intake.faces import choose_face
from tests.unit import intake_corpus as corpus

RULES = IntakeRules(min_photos=1)


def check_one(data: bytes, name: str = "photo.jpg", rules: IntakeRules = RULES) -> PhotoVerdict:
    report = check_photos([PhotoInput(file=name, data=data, size=len(data))], rules)
    return report.photos[0]


REJECTED: dict[str, tuple[Callable[[], bytes], str]] = {
    "zero bytes": (lambda: b"", "corrupt"),
    "truncated jpeg": (corpus.truncated_jpeg, "corrupt"),
    "text renamed .jpg": (lambda: b"just some notes\n" * 40, "unsupported_format"),
    "svg": (corpus.svg, "unsupported_format"),
    "pdf": (corpus.pdf, "unsupported_format"),
    "animated gif": (lambda: corpus.animated("GIF"), "unsupported_format"),
    "animated png": (lambda: corpus.animated("PNG"), "animated"),
    "animated webp": (lambda: corpus.animated("WEBP"), "animated"),
    "50000 x 50000 png": (corpus.png_bomb, "too_many_pixels"),
    "too small": (corpus.too_small, "too_small"),
    "no face": (corpus.no_face, "no_face"),
    "two faces": (corpus.two_faces, "multiple_faces"),
    "tiny face": (corpus.tiny_face, "face_too_small"),
    "blurred face": (corpus.blurred, "blurry"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_hostile_file_is_rejected_with_its_code(case: str) -> None:
    make, code = REJECTED[case]
    verdict = check_one(make())
    assert not verdict.accepted
    assert verdict.reasons == [code]
    assert verdict.crop is None
    assert set(verdict.reasons) <= PHOTO_REASONS


ACCEPTED: dict[str, Callable[[], bytes]] = {
    "cmyk jpeg": corpus.cmyk_jpeg,
    "16-bit gray png": corpus.png16_gray,
    "16-bit rgb png": corpus.png16_rgb,
    "palette png with alpha": corpus.palette_png_alpha,
    "exif gps jpeg": corpus.exif_gps,
    "heic": corpus.heic,
    "webp": corpus.webp,
    "small face beside the real one": corpus.small_face_beside,
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_odd_but_valid_photo_is_accepted_as_clean_srgb(case: str) -> None:
    verdict = check_one(ACCEPTED[case]())
    assert verdict.accepted, verdict.reasons
    assert verdict.crop is not None
    crop = Image.open(io.BytesIO(verdict.crop))
    assert (crop.format, crop.mode, crop.size) == ("PNG", "RGB", (RULES.crop_size, RULES.crop_size))


def test_crops_carry_no_metadata() -> None:
    verdict = check_one(corpus.exif_gps())
    assert verdict.crop is not None
    crop = Image.open(io.BytesIO(verdict.crop))
    assert not crop.getexif()
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"} & set(crop.info)
    for marker in (
        b"Exif",
        b"eXIf",
        b"iTXt",
        b"tEXt",
        b"zTXt",
        b"xmpmeta",
        b"HEADPIX",
        b"PhoneMaker",
    ):
        assert marker not in verdict.crop


def test_exif_rotation_is_applied() -> None:
    data, upright = corpus.exif_rotated()
    rotated = check_one(data)
    straight = check_one(corpus.encode(upright, "JPEG", quality=92))
    assert rotated.accepted and straight.accepted
    assert (rotated.width, rotated.height) == upright.size
    assert rotated.face_box is not None and straight.face_box is not None
    for a, b in zip(rotated.face_box, straight.face_box, strict=True):
        assert abs(a - b) <= 0.1 * straight.face_box[2]
    assert rotated.crop is not None
    assert not Image.open(io.BytesIO(rotated.crop)).getexif()


def test_near_duplicates_keep_the_sharpest() -> None:
    original = corpus.selfie(5)
    report = check_photos(
        [
            PhotoInput("copy.jpg", corpus.recompressed(original), 1),
            PhotoInput("original.jpg", original, 1),
            PhotoInput("other.jpg", corpus.selfie(6), 1),
        ],
        RULES,
    )
    verdicts = {photo.file: photo for photo in report.photos}
    assert verdicts["original.jpg"].accepted and verdicts["other.jpg"].accepted
    assert verdicts["copy.jpg"].reasons == ["duplicate"]


def test_set_level_reasons() -> None:
    photo = corpus.selfie(1)
    few = check_photos([PhotoInput("a.jpg", photo, len(photo))], IntakeRules(min_photos=2))
    assert few.reasons == ["too_few_photos"] and not few.accepted
    many = check_photos(
        [PhotoInput(f"{i}.jpg", b"", 0) for i in range(3)], IntakeRules(min_photos=1, max_photos=2)
    )
    assert many.reasons == ["too_few_photos", "too_many_photos"]
    assert many.to_json()["reasons"] == many.reasons


def test_oversized_file_is_never_read(tmp_path: Path) -> None:
    (tmp_path / "big.jpg").write_bytes(b"\xff\xd8\xff" + b"\0" * 5000)
    (tmp_path / ".DS_Store").write_bytes(b"x")
    inputs = collect_files([str(tmp_path)], IntakeRules(max_file_bytes=1000))
    assert [(item.file, item.data, item.size) for item in inputs] == [(str(tmp_path / "big.jpg"), None, 5003)]
    verdict = check_photos(inputs, RULES).photos[0]
    assert verdict.reasons == ["file_too_large"] and verdict.sha256 is None


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        collect_files([str(tmp_path / "nope.jpg")], RULES)


def test_verdict_json_has_exactly_the_contract_fields() -> None:
    data = corpus.selfie(2)
    verdict = check_one(data)
    assert set(verdict.to_json()) == {
        "file",
        "accepted",
        "reasons",
        "width",
        "height",
        "face_box",
        "sha256",
    }
    assert verdict.to_json()["sha256"] == __import__("hashlib").sha256(data).hexdigest()


def test_small_background_detection_is_not_a_second_face() -> None:
    main, spurious, friend = (100, 100, 200, 200), (400, 60, 50, 50), (420, 120, 180, 180)
    assert choose_face([spurious, main], second_face_ratio=0.65).box == main
    assert choose_face([spurious, main], second_face_ratio=0.65).others == 0
    assert choose_face([main, spurious, friend], second_face_ratio=0.65).others == 1
