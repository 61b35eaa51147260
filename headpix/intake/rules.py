"""Reason codes and the thresholds the intake applies (documented in docs/intake.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headpix.settings import Settings

UNSUPPORTED_FORMAT = "unsupported_format"
CORRUPT = "corrupt"
FILE_TOO_LARGE = "file_too_large"
TOO_MANY_PIXELS = "too_many_pixels"
TOO_SMALL = "too_small"
ANIMATED = "animated"
NO_FACE = "no_face"
MULTIPLE_FACES = "multiple_faces"
FACE_TOO_SMALL = "face_too_small"
BLURRY = "blurry"
DUPLICATE = "duplicate"
DIFFERENT_PERSON = "different_person"
MALWARE = "malware"
TOO_FEW_PHOTOS = "too_few_photos"
TOO_MANY_PHOTOS = "too_many_photos"

PHOTO_REASONS = frozenset(
    {
        UNSUPPORTED_FORMAT,
        CORRUPT,
        FILE_TOO_LARGE,
        TOO_MANY_PIXELS,
        TOO_SMALL,
        ANIMATED,
        NO_FACE,
        MULTIPLE_FACES,
        FACE_TOO_SMALL,
        BLURRY,
        DUPLICATE,
        DIFFERENT_PERSON,
        MALWARE,
    }
)
SET_REASONS = frozenset({TOO_FEW_PHOTOS, TOO_MANY_PHOTOS})


# The memory one photo may take while it is checked (documented in docs/intake.md): the decoded
# pixels and every working copy (RGBA, sRGB conversion, NumPy arrays, grey) at most this many
# bytes per pixel of HEADPIX_MAX_MEGAPIXELS, plus the file's own bytes and a fixed allowance.
MEMORY_BYTES_PER_PIXEL = 16
MEMORY_FIXED_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class IntakeRules:
    """Thresholds of the validate stage; defaults match the settings' defaults."""

    min_photos: int = 4
    max_photos: int = 30
    max_file_bytes: int = 30 * 1024 * 1024
    max_pixels: int = 60_000_000
    min_side_px: int = 256
    crop_size: int = 512
    min_face_share: float = 0.10
    min_face_sharpness: float = 25.0
    duplicate_distance: int = 42
    second_face_ratio: float = 0.6
    second_face_min_score: float = 0.3
    same_person_distance: float = 0.6
    crop_margin: float = 2.4
    detect_side: int = 440
    smallest_face_share: float = 0.04
    reduced_jpeg_decode: bool = True

    @property
    def memory_budget_bytes(self) -> int:
        """Peak memory the intake may use for one photo (the fuzz target fails beyond it)."""
        return MEMORY_BYTES_PER_PIXEL * self.max_pixels + self.max_file_bytes + MEMORY_FIXED_BYTES

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeRules:
        """Rules from the one settings object."""
        return cls(
            min_photos=settings.min_photos,
            max_photos=settings.max_photos,
            max_file_bytes=int(settings.max_file_mb * 1024 * 1024),
            max_pixels=int(settings.max_megapixels * 1_000_000),
            min_side_px=settings.min_side_px,
            crop_size=settings.train_resolution,
            min_face_share=settings.min_face_share,
            min_face_sharpness=settings.min_face_sharpness,
            duplicate_distance=settings.duplicate_hash_distance,
            second_face_ratio=settings.second_face_ratio,
            same_person_distance=settings.same_person_distance,
        )
