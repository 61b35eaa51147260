"""The validate stage: per-photo verdicts, set-level reasons, sanitised crops."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from headpix.errors import UsageError
from headpix.intake import facemodel
from headpix.intake import rules as codes
from headpix.intake.crop import aligned_crop
from headpix.intake.decode import DecodedPhoto, Rejected, decode_photo
from headpix.intake.faces import FaceSearch, find_face, quick_view
from headpix.intake.identity import one_person
from headpix.intake.quality import face_sharpness, find_duplicates, perceptual_hash
from headpix.intake.rules import IntakeRules
from headpix.intake.scan import NoScanner, VirusScanner


@dataclass(frozen=True)
class PhotoInput:
    """One uploaded file: its name as given, its bytes (None when over the size limit) and size."""

    file: str
    data: bytes | None
    size: int


@dataclass
class PhotoVerdict:
    """The intake's answer for one photo; crop is the sanitised PNG when accepted."""

    file: str
    accepted: bool
    reasons: list[str]
    width: int | None = None
    height: int | None = None
    face_box: list[int] | None = None
    sha256: str | None = None
    crop: bytes | None = field(default=None, repr=False)
    sharpness: float | None = None
    duplicate_of: str | None = None  # the file kept in this photo's place

    def to_json(self) -> dict[str, Any]:
        """The public fields (no crop, no sharpness)."""
        return {
            "file": self.file,
            "accepted": self.accepted,
            "reasons": list(self.reasons),
            "width": self.width,
            "height": self.height,
            "face_box": list(self.face_box) if self.face_box is not None else None,
            "sha256": self.sha256,
        }


@dataclass
class IntakeReport:
    """Verdicts for a set of photos plus set-level reasons."""

    photos: list[PhotoVerdict]
    reasons: list[str]

    @property
    def accepted(self) -> bool:
        """Every photo and the set accepted."""
        return not self.reasons and all(photo.accepted for photo in self.photos)

    @property
    def usable(self) -> list[PhotoVerdict]:
        """Accepted photos, in input order."""
        return [photo for photo in self.photos if photo.accepted]

    def to_json(self) -> dict[str, Any]:
        """{"photos": [...], "reasons": [...]}."""
        return {"photos": [photo.to_json() for photo in self.photos], "reasons": list(self.reasons)}


def collect_files(paths: list[str], rules: IntakeRules) -> list[PhotoInput]:
    """Files named by paths (a folder: the visible files in it); oversized files are not read."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            names = sorted(name for name in os.listdir(path) if not name.startswith("."))
            files += [os.path.join(path, name) for name in names if os.path.isfile(os.path.join(path, name))]
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise UsageError(f"no such file or folder: {path}")
    inputs = []
    for name in files:
        size = Path(name).stat().st_size
        data = None if size > rules.max_file_bytes else Path(name).read_bytes()
        inputs.append(PhotoInput(file=name, data=data, size=size))
    return inputs


def check_photos(
    inputs: list[PhotoInput], rules: IntakeRules, *, scanner: VirusScanner | None = None
) -> IntakeReport:
    """Check every photo and the set; never raises on bad image bytes."""
    active_scanner = scanner if scanner is not None else NoScanner()
    verdicts: list[PhotoVerdict] = []
    hashes: dict[int, int] = {}
    # Face descriptors are biometric: they live in this function's memory only.
    descriptors: dict[int, np.ndarray] = {}
    for index, photo in enumerate(inputs):
        verdict, photo_hash, descriptor = _check_one(photo, rules, active_scanner)
        verdicts.append(verdict)
        if verdict.accepted and photo_hash is not None and descriptor is not None:
            hashes[index], descriptors[index] = photo_hash, descriptor
    positions = list(descriptors)
    outsiders, _ = one_person([descriptors[i] for i in positions], max_distance=rules.same_person_distance)
    for position in outsiders:
        _reject(verdicts[positions[position]], codes.DIFFERENT_PERSON)
        del hashes[positions[position]]
    # Of near-copies, keep the one with the most face detail: sharpness is measured at one
    # size, so the larger face (more pixels) wins when two are about as sharp.
    candidates = [(index, photo_hash, _detail(verdicts[index])) for index, photo_hash in hashes.items()]
    for index, kept in find_duplicates(candidates, rules.duplicate_distance).items():
        _reject(verdicts[index], codes.DUPLICATE)
        verdicts[index].duplicate_of = verdicts[kept].file
    descriptors.clear()
    reasons = []
    if sum(verdict.accepted for verdict in verdicts) < rules.min_photos:
        reasons.append(codes.TOO_FEW_PHOTOS)
    if len(inputs) > rules.max_photos:
        reasons.append(codes.TOO_MANY_PHOTOS)
    return IntakeReport(photos=verdicts, reasons=reasons)


def check_one(
    photo: PhotoInput, rules: IntakeRules, *, scanner: VirusScanner | None = None
) -> tuple[PhotoVerdict, int | None]:
    """One photo on its own (duplicates and one-person are the set's to judge, when the shoot
    starts): its verdict and perceptual hash. The face descriptor stays in this call."""
    verdict, phash, _descriptor = _check_one(photo, rules, scanner if scanner is not None else NoScanner())
    return verdict, phash


def _detail(verdict: PhotoVerdict) -> float:
    side = verdict.face_box[2] if verdict.face_box else 0
    return (verdict.sharpness or 0.0) * side


def _reject(verdict: PhotoVerdict, code: str) -> None:
    verdict.accepted = False
    verdict.reasons.append(code)
    verdict.crop = None


def _check_one(
    photo: PhotoInput, rules: IntakeRules, scanner: VirusScanner
) -> tuple[PhotoVerdict, int | None, np.ndarray | None]:
    verdict = PhotoVerdict(file=photo.file, accepted=False, reasons=[])
    if photo.data is None or photo.size > rules.max_file_bytes or len(photo.data) > rules.max_file_bytes:
        verdict.reasons.append(codes.FILE_TOO_LARGE)
        return verdict, None, None
    verdict.sha256 = hashlib.sha256(photo.data).hexdigest()
    if scanner.is_infected(photo.data):
        verdict.reasons.append(codes.MALWARE)
        return verdict, None, None
    try:
        decoded = decode_photo(photo.data, rules)
    except Rejected as rejection:
        verdict.reasons.append(rejection.code)
        return verdict, None, None
    verdict.width, verdict.height = decoded.width, decoded.height
    try:
        return _judge_face(verdict, decoded, rules)
    except facemodel.FaceModelMissing:
        raise
    except Exception:
        # A decoder that hands back unusable pixels is a corrupt file, not a crash.
        verdict.reasons = [codes.CORRUPT]
        verdict.face_box, verdict.crop = None, None
        return verdict, None, None


def _judge_face(
    verdict: PhotoVerdict, decoded: DecodedPhoto, rules: IntakeRules
) -> tuple[PhotoVerdict, int | None, np.ndarray | None]:
    pixels = np.asarray(decoded.image)
    gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    height, width = gray.shape
    search = FaceSearch(
        detect_side=rules.detect_side,
        smallest_face_share=rules.smallest_face_share,
        second_face_ratio=rules.second_face_ratio,
        second_face_min_score=rules.second_face_min_score,
    )
    quick = quick_view(gray, search)
    photo_hash = perceptual_hash(quick[0])  # an area-averaged 64 px view: the same from any size
    finding = find_face(gray, search, quick)
    if finding.box is None:
        verdict.reasons.append(codes.NO_FACE)
        return verdict, None, None
    box = finding.box
    verdict.face_box = [round(value * decoded.scale) for value in box]
    if finding.others:
        verdict.reasons.append(codes.MULTIPLE_FACES)
    if box[2] / min(width, height) < rules.min_face_share:
        verdict.reasons.append(codes.FACE_TOO_SMALL)
    marks = facemodel.landmarks(gray, box)
    face = aligned_crop(pixels, marks, box, margin=rules.crop_margin, size=rules.crop_size)
    verdict.sharpness = face_sharpness(face.face_gray)
    if verdict.sharpness < rules.min_face_sharpness:
        verdict.reasons.append(codes.BLURRY)
    if verdict.reasons:
        return verdict, None, None
    verdict.crop = face.png
    verdict.accepted = True
    return verdict, photo_hash, facemodel.descriptor(pixels, marks)
