"""The fuzzer's seed corpus, written at run time from the hostile corpus the unit tests use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import ExifTags, Image

from tests.unit import intake_corpus as corpus

SIDE = 160  # small seeds keep executions fast; mutated headers still claim any size


def _png16(image: Image.Image) -> bytes:
    if image.mode == "L":
        pixels = np.asarray(image, np.uint16) * 257
    else:
        pixels = np.ascontiguousarray(np.asarray(image, np.uint16)[..., ::-1] * 257)
    ok, data = cv2.imencode(".png", pixels)
    assert ok
    return data.tobytes()


def _with_exif(image: Image.Image, **tags: object) -> bytes:
    exif = Image.Exif()
    for name, value in tags.items():
        exif[getattr(ExifTags.Base, name)] = value
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.0)
    return corpus.encode(image, "JPEG", quality=85, exif=exif.tobytes())


def seed_builders() -> dict[str, Callable[[], bytes]]:
    base = corpus.selfie_image(8).resize((SIDE, SIDE))
    return {
        "selfie.jpg": lambda: corpus.encode(base, "JPEG", quality=85),
        "selfie.png": lambda: corpus.encode(base, "PNG"),
        "selfie.webp": lambda: corpus.encode(base, "WEBP"),
        "selfie.heic": lambda: corpus.encode(base, "HEIF", quality=50),
        "cmyk.jpg": lambda: corpus.encode(base.convert("CMYK"), "JPEG", quality=90),
        "gray16.png": lambda: _png16(base.convert("L")),
        "rgb16.png": lambda: _png16(base),
        "palette-alpha.png": lambda: corpus.encode(base.quantize(255), "PNG", transparency=0),
        "rgba.png": lambda: corpus.encode(base.convert("RGBA"), "PNG"),
        "exif-rotated.jpg": lambda: _with_exif(base.transpose(Image.Transpose.ROTATE_90), Orientation=6),
        "exif-gps.jpg": lambda: _with_exif(base, Make="PhoneMaker", Model="Model"),
        "animated.png": lambda: corpus.encode(
            base, "PNG", save_all=True, append_images=[base.rotate(5)], duration=100, loop=0
        ),
        "animated.webp": lambda: corpus.encode(
            base, "WEBP", save_all=True, append_images=[base.rotate(5)], duration=100, loop=0
        ),
        "bomb.png": corpus.png_bomb,
        "truncated.jpg": lambda: corpus.encode(base, "JPEG")[:2000],
        "gray.jpg": lambda: corpus.encode(base.convert("L"), "JPEG"),
        "progressive.jpg": lambda: corpus.encode(base, "JPEG", progressive=True),
        "svg.svg": corpus.svg,
        "doc.pdf": corpus.pdf,
        "tiny.png": lambda: corpus.encode(Image.new("RGB", (8, 8)), "PNG"),
    }


def write_seeds(folder: Path) -> list[Path]:
    """Write every seed into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, build in seed_builders().items():
        path = folder / name
        path.write_bytes(build())
        paths.append(path)
    return paths
