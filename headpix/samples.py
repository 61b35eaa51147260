"""The demo's sample selfies: distinct shots derived offline from scikit-image's astronaut photo."""

from __future__ import annotations

import io
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

# Where the face sits in skimage.data.astronaut() (512 x 512): centre and side in pixels.
_FACE_CENTRE = (224.0, 115.0)
_FACE_SIDE = 92.0


@lru_cache(maxsize=1)
def _astronaut() -> np.ndarray:
    from skimage import data  # imported lazily: only the demo and tests need it

    return np.asarray(data.astronaut(), dtype=np.uint8)


def _person_mask() -> np.ndarray:
    """Soft mask of head and shoulders; the rest of the frame is background."""
    mask = np.zeros((512, 512), np.float32)
    cx, cy = int(_FACE_CENTRE[0]), int(_FACE_CENTRE[1])
    cv2.ellipse(mask, (cx, cy), (80, 100), 0, 0, 360, 1.0, -1)
    cv2.ellipse(mask, (cx + 10, 470), (230, 290), 0, 180, 360, 1.0, -1)
    cv2.rectangle(mask, (0, 470), (511, 511), 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), 12)


def _backdrop(rng: np.random.Generator, size: int = 512) -> np.ndarray:
    start, end = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    angle = rng.uniform(0, np.pi)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    ramp = np.clip(np.cos(angle) * xs + np.sin(angle) * ys, 0, 1)[..., None]
    image: np.ndarray = start * (1 - ramp) + end * ramp
    kind = rng.integers(0, 3)
    if kind == 1:  # soft blotches, like an out-of-focus room
        noise = cv2.resize(
            rng.uniform(-40, 40, (6, 6)).astype(np.float32),
            (size, size),
            interpolation=cv2.INTER_CUBIC,
        )
        image = image + noise[..., None]
    elif kind == 2:  # stripes, like blinds or a wall panel
        period = rng.uniform(30, 90)
        image = image + (20 * np.sin(2 * np.pi * xs / (period / size)))[..., None]
    return np.asarray(np.clip(image, 0, 255), np.float32)


def render_selfie(rng: np.random.Generator) -> bytes:
    """One selfie-like JPEG (about 800-1200 px) with random framing, tilt, light and background."""
    face: np.ndarray = _astronaut().astype(np.float32)
    mask = _person_mask()[..., None]
    if rng.random() < 0.8:
        face = face * mask + _backdrop(rng) * (1 - mask)
    gain = rng.uniform(0.75, 1.2) * rng.uniform(0.92, 1.08, 3)
    gamma = rng.uniform(0.75, 1.3)
    face = 255.0 * np.clip(face * gain / 255.0, 0, 1) ** gamma
    tilt = rng.uniform(-8, 8)
    matrix = cv2.getRotationMatrix2D(_FACE_CENTRE, tilt, 1.0)
    face = cv2.warpAffine(face, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT)
    aspect = float(rng.choice([0.75, 1.0, 4 / 3]))
    height = rng.uniform(2.6, 3.9) * _FACE_SIDE
    width = min(height * aspect, 512.0)
    height = min(height, 512.0)
    left = _FACE_CENTRE[0] - width * rng.uniform(0.35, 0.65)
    top = _FACE_CENTRE[1] - height * rng.uniform(0.3, 0.45)
    left = float(np.clip(left, 0, 512 - width))
    top = float(np.clip(top, 0, 512 - height))
    window = face[int(top) : int(top + height), int(left) : int(left + width)]
    long_side = rng.uniform(800, 1200)
    scale = long_side / max(window.shape[:2])
    out = cv2.resize(window, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    image = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(84, 94)))
    return buffer.getvalue()


def selfie_variants(count: int, *, seed: int) -> list[bytes]:
    """count distinct selfie-like JPEGs, the same for the same seed."""
    return [render_selfie(np.random.default_rng([seed, index])) for index in range(count)]


def sample_photos(count: int = 8) -> list[tuple[str, bytes]]:
    """The demo's sample set: (name, JPEG bytes) pairs such as ("sample-01.jpg", ...)."""
    return [
        (f"sample-{index + 1:02d}.jpg", data) for index, data in enumerate(selfie_variants(count, seed=0))
    ]


def render_phone_shot(rng: np.random.Generator) -> bytes:
    """The astronaut as a phone would shoot her: tilt up to ±15°, mirror, light, framing, JPEG.

    Brightness 0.65-1.25, contrast 0.75-1.3, portrait (3:4) or square framing with the face
    at 24-42 % of the frame height, 900-1600 px on the long side, JPEG quality 72-95.
    """
    source = _astronaut().astype(np.float32)
    brightness, contrast = rng.uniform(0.65, 1.25), rng.uniform(0.75, 1.3)
    mean = float(source.mean())
    image = np.clip(((source - mean) * contrast + mean) * brightness, 0, 255).astype(np.float32)
    tilt = rng.uniform(-15, 15)
    matrix = cv2.getRotationMatrix2D(_FACE_CENTRE, tilt, 1.0)
    image = cv2.warpAffine(image, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT)
    height = min(_FACE_SIDE / rng.uniform(0.24, 0.42), 512.0)
    width = height * (0.75 if rng.random() < 0.5 else 1.0)
    left = float(np.clip(_FACE_CENTRE[0] - width * rng.uniform(0.4, 0.6), 0, 512 - width))
    top = float(np.clip(_FACE_CENTRE[1] - height * rng.uniform(0.3, 0.45), 0, 512 - height))
    window = image[int(top) : int(top + height), int(left) : int(left + width)]
    scale = rng.uniform(900, 1600) / max(window.shape[:2])
    out = cv2.resize(window, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    buffer = io.BytesIO()
    quality = int(rng.integers(72, 96))
    Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def phone_shots(count: int, *, seed: int, min_hash_distance: int = 43) -> list[bytes]:
    """count distinct phone-like shots of the one real person scikit-image ships (same seed, same shots).

    Every shot is drawn from the same photo, so two draws can frame it almost alike: a draw
    within min_hash_distance bits (the intake's duplicate rule) of an earlier shot is skipped,
    as a person's distinct shots differ more than that.
    """
    from headpix.intake.quality import hash_distance, perceptual_hash

    shots: list[bytes] = []
    hashes: list[int] = []
    index = 0
    while len(shots) < count:
        shot = render_phone_shot(np.random.default_rng([seed, 1000 + index]))
        index += 1
        gray = np.asarray(Image.open(io.BytesIO(shot)).convert("L"))
        scale = 440 / min(gray.shape)
        photo_hash = perceptual_hash(cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
        if all(hash_distance(photo_hash, other) >= min_hash_distance for other in hashes):
            shots.append(shot)
            hashes.append(photo_hash)
    return shots
