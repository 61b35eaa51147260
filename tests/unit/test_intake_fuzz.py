"""Mutated image bytes: no exception escapes the checker, only documented codes come back."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from headpix.intake import PHOTO_REASONS, IntakeRules, PhotoInput, check_photos
from tests.unit import intake_corpus as corpus

RULES = IntakeRules(min_photos=1)
_BASE = corpus.selfie_image(8).resize((300, 300))
SEEDS = {
    "JPEG": corpus.encode(_BASE, "JPEG", quality=85),
    "PNG": corpus.encode(_BASE, "PNG"),
    "WEBP": corpus.encode(_BASE, "WEBP"),
}


def test_seed_photos_are_accepted() -> None:
    for name, data in SEEDS.items():
        assert Image.open(io.BytesIO(data)).format == name
        assert check_photos([PhotoInput(name, data, len(data))], RULES).photos[0].accepted


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "truncate", "insert", "zero"]))
        if action == "flip":
            data[position] ^= draw(st.integers(1, 255))
        elif action == "truncate":
            del data[position:]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[position : position + 64] = bytes(len(data[position : position + 64]))
        if not data:
            break
    return bytes(data)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated())
def test_mutated_bytes_never_raise(data: bytes) -> None:
    verdict = check_photos([PhotoInput("fuzz.jpg", data, len(data))], RULES).photos[0]
    assert set(verdict.reasons) <= PHOTO_REASONS
    assert verdict.accepted == (not verdict.reasons)
