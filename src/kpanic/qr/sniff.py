"""Is this file an image, and is it small enough to decode? Asked of Pillow, not of a list.

Used by the CLI, ``kpanic import`` and the web intake before anything decodes pixels, so one
pixel limit and one message hold everywhere. Imports only Pillow (no OpenCV), so the CLI stays
quick to start.
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image

# Decoded pixels per photo. A bigger JPEG is decoded at 1/2, 1/4 or 1/8 size (Pillow's
# draft(), done in the JPEG decoder itself), so a 200 MP phone photo still reads; any other
# format over the limit is refused from its header.
MAX_PHOTO_PIXELS: Final = 50_000_000
MAX_DRAFT_FACTOR: Final = 8

_heif_registered = False


def register_heif() -> None:
    """Let Pillow open HEIC/HEIF (iPhone photos) when pillow-heif is installed."""
    global _heif_registered
    if _heif_registered:
        return
    _heif_registered = True
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # pragma: no cover - optional at run time
        return
    register_heif_opener()


def image_format(head: bytes) -> str | None:
    """Pillow's format name for a file starting with ``head`` (16 bytes are enough), or None.

    Every registered plugin's own signature test is asked (JPEG, PNG, GIF, WebP, TIFF,
    JPEG 2000, PPM/PGM, BMP, AVIF, HEIC, ...). Plugins without a signature test are skipped:
    they would claim anything.
    """
    register_heif()
    Image.init()
    prefix = bytes(head[:16])
    for fmt in Image.ID:
        _factory, accept = Image.OPEN[fmt]
        if accept is None:
            continue
        try:
            ok = accept(prefix)
        except Exception:  # a plugin's test must not break the sniffing
            continue
        if ok:
            return fmt
    return None


def pixel_limit_message(width: int, height: int, limit: int = MAX_PHOTO_PIXELS) -> str:
    return (
        f"the photo is {width}x{height} = {width * height} pixels; the limit is {limit} pixels"
        " (JPEGs up to 8 times larger per side are read at reduced size)"
    )


def draft_factor(fmt: str | None, width: int, height: int, limit: int = MAX_PHOTO_PIXELS) -> int:
    """1 when the image fits; the JPEG reduction (2, 4, 8) that makes it fit; 0 if none does."""
    if width * height <= limit:
        return 1
    if fmt != "JPEG":
        return 0
    k = 2
    while k <= MAX_DRAFT_FACTOR:
        if -(-width // k) * -(-height // k) <= limit:
            return k
        k *= 2
    return 0


def declared_size(data: bytes) -> tuple[str | None, int, int] | None:
    """(format, width, height) from the header without decoding pixels (no bomb check: the
    caller applies ``draft_factor``); None when Pillow cannot read the header."""
    register_heif()
    fmt = image_format(data[:16])
    try:
        if fmt == "JPEG":
            from PIL import JpegImagePlugin

            img: Image.Image = JpegImagePlugin.JpegImageFile(io.BytesIO(data))
        else:
            img = Image.open(io.BytesIO(data))
        with img:
            return img.format or fmt, int(img.size[0]), int(img.size[1])
    except Image.DecompressionBombError:
        return fmt, 0, 0  # over Pillow's own ceiling: the caller refuses it
    except Exception:
        return None


def too_many_pixels(data: bytes, limit: int = MAX_PHOTO_PIXELS) -> str | None:
    """The refusal message when ``data`` is an image over the pixel limit, else None."""
    size = declared_size(data)
    if size is None:
        return None
    fmt, w, h = size
    if w == 0:
        return f"the photo has too many pixels to decode safely; the limit is {limit} pixels"
    if draft_factor(fmt, w, h, limit) == 0:
        return pixel_limit_message(w, h, limit)
    return None
