"""Turn untrusted bytes or a path into a grayscale array, with size limits.

Photos come from uploads, so every limit is checked before the pixels are decoded:
file size, declared pixel count (decompression bombs), and Pillow's own bomb guard.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from kpanic.errors import PhotoDecodeError

MAX_FILE_BYTES = 40 * 1024 * 1024
MAX_PIXELS = 50_000_000
MIN_SIDE = 21  # a version-1 symbol at one pixel per module, without quiet zone

_heif_registered = False


def _register_heif() -> None:
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


def read_source(source: str | os.PathLike[str] | bytes) -> bytes:
    """The file's bytes, refusing anything over ``MAX_FILE_BYTES`` before reading it all."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        try:
            size = os.path.getsize(source)
        except OSError as exc:
            raise PhotoDecodeError("not-an-image", f"cannot read {source!s}: {exc}") from exc
        if size > MAX_FILE_BYTES:
            raise PhotoDecodeError(
                "too-large", f"file is {size} bytes, the limit is {MAX_FILE_BYTES}"
            )
        try:
            with open(source, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise PhotoDecodeError("not-an-image", f"cannot read {source!s}: {exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise PhotoDecodeError(
            "too-large", f"file is {len(data)} bytes, the limit is {MAX_FILE_BYTES}"
        )
    if not data:
        raise PhotoDecodeError("not-an-image", "the file is empty")
    return data


def load_gray(source: str | os.PathLike[str] | bytes) -> npt.NDArray[np.uint8]:
    """Decode an image (JPEG, PNG, WebP, HEIC, ...) to 8-bit luminance.

    EXIF orientation is applied; alpha is flattened onto white so transparent PNGs of a
    code stay readable.
    """
    _register_heif()
    data = read_source(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise PhotoDecodeError(
                    "too-large", f"image is {w}x{h} pixels, the limit is {MAX_PIXELS} pixels"
                )
            if img.format == "JPEG" and img.mode in ("RGB", "YCbCr", "L"):
                img.draft("L", (w, h))  # decode only the luma plane: faster, no chroma noise
            img.load()
    except PhotoDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoDecodeError("too-large", f"image is too large to decode safely: {exc}") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise PhotoDecodeError("not-an-image", f"not a readable image: {exc}") from exc
    except Exception as exc:  # image plugins raise anything on hostile input
        raise PhotoDecodeError("not-an-image", f"not a readable image: {exc}") from exc
    try:
        img = ImageOps.exif_transpose(img) or img
    except Exception:  # a broken EXIF block must not stop the decode
        pass
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    gray = np.asarray(img.convert("L"), dtype=np.uint8)
    if min(gray.shape[:2]) < MIN_SIDE:
        raise PhotoDecodeError(
            "no-code-found",
            f"image is only {gray.shape[1]}x{gray.shape[0]} pixels, too small to hold a QR code",
        )
    return np.ascontiguousarray(gray)
