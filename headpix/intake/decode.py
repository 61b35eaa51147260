"""Safe decoding: format from the bytes, limits before allocation, upright 8-bit sRGB out."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import pillow_heif
from PIL import Image, ImageCms, ImageOps

from headpix.intake import rules as codes
from headpix.intake.rules import IntakeRules

pillow_heif.register_heif_opener()

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_GENERIC_BRANDS = {b"mif1", b"msf1"}
_SWAPPED_ORIENTATIONS = {5, 6, 7, 8}
_SRGB = ImageCms.createProfile("sRGB")


class Rejected(Exception):
    """A photo failed a rule; carries the reason code (never the file's contents)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class DecodedPhoto:
    """An upright RGB image, possibly decoded at reduced size, and its full upright size."""

    image: Image.Image
    width: int
    height: int

    @property
    def scale(self) -> float:
        """Full-size pixels per decoded pixel."""
        return self.width / self.image.width


def sniff_format(data: bytes) -> str | None:
    """The Pillow format name of JPEG, PNG, WEBP or HEIF bytes, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        box_size = int.from_bytes(data[:4], "big")
        brands = data[8:12]
        compatible = data[16 : max(16, min(box_size, 64))]
        if brands in _HEIF_BRANDS:
            return "HEIF"
        if brands in _HEIF_GENERIC_BRANDS and b"avif" not in compatible:
            return "HEIF"
    return None


def decode_photo(data: bytes, rules: IntakeRules) -> DecodedPhoto:
    """Decode image bytes under the rules' limits; raise Rejected with a reason code."""
    if not data:
        raise Rejected(codes.CORRUPT)
    image_format = sniff_format(data)
    if image_format is None:
        raise Rejected(codes.UNSUPPORTED_FORMAT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[image_format])
    except Image.DecompressionBombError:
        raise Rejected(codes.TOO_MANY_PIXELS) from None
    except Exception:
        raise Rejected(codes.CORRUPT) from None
    try:
        return _decode_opened(image, image_format, rules)
    except Rejected:
        raise
    except Image.DecompressionBombError:
        raise Rejected(codes.TOO_MANY_PIXELS) from None
    except Exception:
        # Truncated, malformed or unreadable streams of every kind end here.
        raise Rejected(codes.CORRUPT) from None


def _decode_opened(image: Image.Image, image_format: str, rules: IntakeRules) -> DecodedPhoto:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise Rejected(codes.CORRUPT)
    if width * height > rules.max_pixels:
        raise Rejected(codes.TOO_MANY_PIXELS)
    if image_format in ("PNG", "WEBP") and getattr(image, "is_animated", False):
        raise Rejected(codes.ANIMATED)
    if min(width, height) < rules.min_side_px:
        raise Rejected(codes.TOO_SMALL)
    orientation = _orientation(image)
    if orientation in _SWAPPED_ORIENTATIONS:
        width, height = height, width
    if image_format == "JPEG" and rules.reduced_jpeg_decode:
        # Decode at 1/2, 1/4 or 1/8 when that still leaves twice the crop size.
        wanted = 2 * rules.crop_size
        image.draft(image.mode, (wanted, wanted))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image.load()
        upright = ImageOps.exif_transpose(image) if orientation not in (None, 1) else image
        rgb = to_srgb(upright)
    return DecodedPhoto(image=rgb, width=width, height=height)


def _orientation(image: Image.Image) -> int | None:
    try:
        value = image.getexif().get(0x0112)
    except Exception:
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def to_srgb(image: Image.Image) -> Image.Image:
    """Any mode (CMYK, 16-bit, palette, alpha) to 8-bit sRGB RGB, transparency on white."""
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        return _high_depth_gray(image).convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    icc = image.info.get("icc_profile")
    if icc and mode in ("RGB", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
            if converted is not None:
                return converted
        except Exception:
            pass  # A broken profile is not worth refusing the photo: fall back to plain conversion.
    return image if mode == "RGB" else image.convert("RGB")


def _high_depth_gray(image: Image.Image) -> Image.Image:
    # In place and in the image's own dtype: a float64 copy took 17 bytes per pixel at peak
    # (about 1 GB for a 16-bit PNG at the 60 MP limit), over the intake's memory budget.
    values = np.array(image)
    if values.dtype.kind == "f":
        values = np.nan_to_num(values.astype(np.float32, copy=False), copy=False)
        if values.size and float(values.max()) <= 1.0:
            values *= 255.0
    elif values.size and int(values.max()) > 255:
        np.floor_divide(values, 257, out=values)
    np.clip(values, 0, 255, out=values)
    return Image.fromarray(values.astype(np.uint8), "L")
