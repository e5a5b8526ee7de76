"""Checking an uploaded photo by its content, not its name, and re-encoding it without metadata.

A file is accepted only if Pillow decodes it fully as JPEG, PNG or WebP within the pixel and
side limits, which are read from the header and checked before anything is decoded. Re-encoding drops EXIF, which
often carries the GPS position of a host's home.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PIXELS = 25_000_000  # a 24-megapixel camera photo (6000 x 4000) fits; decoded RGBA that is 100 MB
MAX_SIDE = 10_000
MIN_SIDE = 200


class ImageRejected(ValueError):
    pass


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def check_image(raw: bytes, *, max_pixels: int = MAX_PIXELS) -> CheckedImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as probe:
                image_format = probe.format or ""
                if image_format not in ALLOWED_FORMATS:
                    raise ImageRejected("the file is not a JPEG, PNG or WebP image")
                width, height = probe.size  # from the header: nothing is decoded yet
                if max(width, height) > MAX_SIDE:
                    raise ImageRejected(f"the image must be at most {MAX_SIDE:,} pixels on each side")
                if width * height > max_pixels:
                    raise ImageRejected(f"the image has more than {max_pixels:,} pixels")
                probe.verify()
            with Image.open(io.BytesIO(raw)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("the image is too large when decoded") from exc
    except Exception as exc:  # Pillow raises many types for broken input
        raise ImageRejected("the file is not a readable image") from exc
    if min(upright.size) < MIN_SIDE:
        raise ImageRejected(f"the image must be at least {MIN_SIDE} pixels on each side")
    out = io.BytesIO()
    if image_format == "JPEG":
        upright.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
    elif image_format == "PNG":
        upright.save(out, "PNG", optimize=True)
    else:
        upright.save(out, "WEBP", quality=88)
    return CheckedImage(
        data=out.getvalue(),
        content_type=ALLOWED_FORMATS[image_format],
        extension=EXTENSIONS[image_format],
        width=upright.size[0],
        height=upright.size[1],
    )
