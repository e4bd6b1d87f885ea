"""A proof-of-delivery photo, made safe to keep: verified as an image, turned upright, and re-encoded from its
pixels alone, so nothing the camera wrote beside them (EXIF with GPS, XMP, comments, ICC profiles, maker
notes, thumbnails) survives. Pure: bytes in, JPEG bytes out; sealing and storing are services/pod.py's."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.http import HttpResponse
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # what a phone camera's JPEG or HEIC-converted JPEG fits in
MAX_PIXELS = 50_000_000  # above this the upload is refused before decoding (a decompression bomb)
MAX_SIDE = 1280  # the stored photo's longer side: enough to see a parcel at a door
JPEG_QUALITY = 80
FORMATS = ("JPEG", "PNG", "WEBP")


class PhotoError(Exception):
    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


@dataclass(frozen=True)
class CleanPhoto:
    jpeg: bytes
    width: int
    height: int


def photo_clean(raw: bytes) -> CleanPhoto:
    """Raises PhotoError("photo_too_large" | "not_an_image")."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise PhotoError("photo_too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=FORMATS) as probe:
                if probe.width * probe.height > MAX_PIXELS:
                    raise PhotoError("photo_too_large")
                probe.verify()  # a truncated or corrupt file fails here, before the pixels are decoded
            with Image.open(io.BytesIO(raw), formats=FORMATS) as im:
                im.load()
                upright = ImageOps.exif_transpose(im)  # the camera's orientation tag, applied to the pixels
                rgb = upright.convert("RGB")
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise PhotoError("not_an_image") from exc
    rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A new image from the raw pixels: its `info` is empty, so no metadata of the upload can ride along.
    pixels = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    out = io.BytesIO()
    pixels.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanPhoto(out.getvalue(), pixels.width, pixels.height)


def photo_response(jpeg: bytes) -> HttpResponse:
    """A stored photo as an HTTP answer that no shared cache or browser store keeps."""
    response = HttpResponse(jpeg, content_type="image/jpeg")
    response["Cache-Control"] = "no-store, private"
    response["Content-Disposition"] = 'inline; filename="delivery.jpg"'
    return response
