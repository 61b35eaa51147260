"""Face-centred square crops, re-encoded from pixels only so no metadata survives."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from headpix.intake.faces import Box


def crop_square(image: Image.Image, face: Box, *, margin: float, size: int) -> bytes:
    """A size x size PNG of the square around the face (margin x face side), inside the image."""
    width, height = image.size
    x, y, w, h = face
    side = round(max(w, h) * margin)
    side = max(1, min(side, width, height))
    left = round(x + w / 2.0 - side / 2.0)
    top = round(y + h / 2.0 - side / 2.0)
    left = min(max(left, 0), width - side)
    top = min(max(top, 0), height - side)
    region = image.crop((left, top, left + side, top + side))
    resized = region.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    # A fresh image from the raw pixels: no EXIF, GPS, XMP, IPTC, ICC or comments can follow.
    clean = Image.fromarray(np.asarray(resized.convert("RGB"), dtype=np.uint8), "RGB")
    buffer = io.BytesIO()
    clean.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
