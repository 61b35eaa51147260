"""A hostile photo corpus generated in code (no binary files are committed)."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
from PIL import ExifTags, Image

from headpix.samples import render_selfie, selfie_variants

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-" + b"STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def selfie(seed: int = 3) -> bytes:
    """A valid selfie-like JPEG."""
    return render_selfie(np.random.default_rng([99, seed]))


def selfie_image(seed: int = 3) -> Image.Image:
    return Image.open(io.BytesIO(selfie(seed))).convert("RGB")


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def astronaut() -> np.ndarray:
    from skimage import data

    return np.asarray(data.astronaut(), np.uint8)


def truncated_jpeg() -> bytes:
    data = selfie()
    return data[: len(data) // 2]


def svg() -> bytes:
    return (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
        b'width="800" height="800"><circle r="9"/></svg>'
    )


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def animated(fmt: str) -> bytes:
    frames = [selfie_image(), selfie_image(4).resize(selfie_image().size)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def png_bomb(side: int = 50_000) -> bytes:
    """A PNG whose header claims side x side RGB pixels; its data would inflate to gigabytes."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 100_000, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def cmyk_jpeg() -> bytes:
    return encode(selfie_image().convert("CMYK"), "JPEG", quality=90)


def png16_gray() -> bytes:
    gray = np.asarray(selfie_image().convert("L"), np.uint16) * 257
    ok, data = cv2.imencode(".png", gray)
    assert ok
    return data.tobytes()


def png16_rgb() -> bytes:
    bgr = np.asarray(selfie_image(), np.uint16)[..., ::-1] * 257
    ok, data = cv2.imencode(".png", np.ascontiguousarray(bgr))
    assert ok
    return data.tobytes()


def palette_png_alpha() -> bytes:
    image = selfie_image().quantize(255)
    image.info["transparency"] = 0
    return encode(image, "PNG", transparency=0)


def exif_rotated() -> tuple[bytes, Image.Image]:
    """A JPEG stored sideways with Orientation=6, and the upright image it shows."""
    upright = selfie_image()
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    return encode(
        upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=92, exif=exif.tobytes()
    ), upright


GPS_MARK = b"HEADPIX-GPS-MARK"


def exif_gps() -> bytes:
    """A JPEG with GPS coordinates, device make/model, XMP and a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "HEADPIX-DEVICE-MARK"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.0)
    gps[ExifTags.GPS.GPSProcessingMethod] = GPS_MARK.decode()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>HEADPIX-XMP-MARK</rdf:RDF></x:xmpmeta>'
    return encode(
        selfie_image(),
        "JPEG",
        quality=92,
        exif=exif.tobytes(),
        xmp=xmp,
        comment=b"HEADPIX-COMMENT-MARK",
    )


def heic() -> bytes:
    return encode(selfie_image(), "HEIF", quality=80)


def webp() -> bytes:
    return encode(selfie_image(), "WEBP", quality=85)


def no_face() -> bytes:
    rng = np.random.default_rng(5)
    noise = cv2.resize(
        rng.uniform(0, 255, (8, 10, 3)).astype(np.float32),
        (1000, 800),
        interpolation=cv2.INTER_CUBIC,
    )
    return encode(Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8)), "JPEG")


def _canvas(width: int, height: int) -> np.ndarray:
    return np.full((height, width, 3), (120, 140, 160), np.uint8)


def two_faces() -> bytes:
    """Two people side by side, faces the same size."""
    person = astronaut()[:400, 60:400]
    canvas = _canvas(900, 600)
    canvas[100:500, 40:380] = person
    canvas[100:500, 500:840] = person[:, ::-1]
    return encode(Image.fromarray(canvas))


def small_face_beside() -> bytes:
    """A normal selfie with a much smaller face (a poster, a passer-by) beside it."""
    image = np.asarray(selfie_image(), np.uint8).copy()
    person = cv2.resize(astronaut()[40:200, 150:300], (75, 80), interpolation=cv2.INTER_AREA)
    image[-90:-10, 10:85] = person
    return encode(Image.fromarray(image))


def tiny_face() -> bytes:
    person = cv2.resize(astronaut(), (500, 500), interpolation=cv2.INTER_AREA)
    canvas = _canvas(1600, 1200)
    canvas[650:1150, 600:1100] = person
    return encode(Image.fromarray(canvas))


def blurred() -> bytes:
    return encode(Image.fromarray(cv2.GaussianBlur(np.asarray(selfie_image()), (0, 0), 9)))


def too_small() -> bytes:
    return encode(selfie_image().resize((200, 240)))


def recompressed(data: bytes) -> bytes:
    """The same shot, re-saved smaller and at a lower quality (a near-duplicate)."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return encode(image.resize((image.width * 3 // 4, image.height * 3 // 4)), "JPEG", quality=70)


def distinct_selfies(count: int) -> list[bytes]:
    """Distinct valid selfie-like shots, not the demo's."""
    return selfie_variants(count, seed=7)
