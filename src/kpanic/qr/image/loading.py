"""Turn untrusted bytes or a path into grayscale frames, with size limits.

Photos come from uploads, so every limit is checked before the pixels are decoded: file size
and declared pixel count (one limit, ``kpanic.qr.sniff.MAX_PHOTO_PIXELS``; big JPEGs are
decoded at reduced size instead of refused). What Pillow can open is an image (JPEG 2000, PPM,
AVIF, HEIC included). Beyond one plain frame:

- 16-bit and float grayscale is scaled from its own range, not clipped to white;
- a truncated file gives what decodes, flagged so the caller can say the file was cut;
- every frame of an animated GIF/WebP/PNG is a frame to try (up to ``MAX_FRAMES``);
- transparency is flattened onto white and, as a second frame, onto black (a code drawn in
  white on transparent vanishes on white).
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFile, ImageOps

from kpanic.errors import PhotoDecodeError
from kpanic.qr import sniff

MAX_FILE_BYTES = 40 * 1024 * 1024
MAX_PIXELS = sniff.MAX_PHOTO_PIXELS
MAX_FRAMES = 24  # frames of an animation tried (spread over the whole animation)
MIN_SIDE = 21  # a version-1 symbol at one pixel per module, without quiet zone

Gray = npt.NDArray[np.uint8]
_truncated_lock = threading.Lock()


@dataclass
class Loaded:
    frames: list[Gray]
    truncated: bool = False
    notes: list[str] = field(default_factory=list)
    format: str | None = None


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


def _open(data: bytes) -> Image.Image:
    """Open lazily; the pixel limit is applied here, from the header."""
    size = sniff.declared_size(data)
    if size is None:
        raise PhotoDecodeError("not-an-image", "not a readable image (Pillow cannot open it)")
    fmt, w, h = size
    if w == 0:
        raise PhotoDecodeError(
            "too-large",
            f"the photo has too many pixels to decode safely; the limit is {MAX_PIXELS} pixels",
        )
    k = sniff.draft_factor(fmt, w, h, MAX_PIXELS)
    if k == 0:
        raise PhotoDecodeError("too-large", sniff.pixel_limit_message(w, h, MAX_PIXELS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        if fmt == "JPEG":
            from PIL import JpegImagePlugin

            img: Image.Image = JpegImagePlugin.JpegImageFile(io.BytesIO(data))
        else:
            img = Image.open(io.BytesIO(data))
    if img.format == "JPEG" and img.mode in ("RGB", "YCbCr", "L", "CMYK"):
        # decode only the luma plane (faster, no chroma noise), at 1/k size when too big
        img.draft("L", (-(-w // k), -(-h // k)))
    return img


def _load_pixels(img: Image.Image, data: bytes) -> tuple[Image.Image, bool]:
    """Decode the pixels; a cut file is decoded as far as it goes (True when cut)."""
    try:
        img.load()
        return img, False
    except (OSError, SyntaxError, EOFError, ValueError) as exc:
        first = exc
    with _truncated_lock:  # Pillow's switch is module-global; hold it for this load only
        old = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            again = _open(data)
            again.load()
        except PhotoDecodeError:
            raise
        except Exception:
            raise PhotoDecodeError("not-an-image", f"not a readable image: {first}") from first
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = old
    return again, True


def _to_gray(img: Image.Image) -> list[Gray]:
    """8-bit luminance; high bit depths scaled from their range; alpha on white and black."""
    try:
        img = ImageOps.exif_transpose(img) or img
    except Exception:  # a broken EXIF block must not stop the decode
        pass
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        return [np.clip(scaled + 0.5, 0, 255).astype(np.uint8)]
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        img.mode == "P" and "transparency" in img.info
    ):
        rgba = img.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"))
        out = []
        for bg in (255, 0):
            background = Image.new("RGBA", rgba.size, (bg, bg, bg, 255))
            out.append(np.asarray(Image.alpha_composite(background, rgba).convert("L")))
            if alpha.min() == 255:
                break  # fully opaque: one background is enough
        return out
    return [np.asarray(img.convert("L"), dtype=np.uint8)]


def _frame_indices(n: int) -> list[int]:
    if n <= MAX_FRAMES:
        return list(range(n))
    return sorted({round(i * (n - 1) / (MAX_FRAMES - 1)) for i in range(MAX_FRAMES)})


def load(source: str | os.PathLike[str] | bytes) -> Loaded:
    """Every grayscale frame worth trying, with notes on what was done to get them."""
    data = read_source(source)
    try:
        img = _open(data)
        img, truncated = _load_pixels(img, data)
        fmt = img.format
        n = int(getattr(img, "n_frames", 1) or 1)
        frames: list[Gray] = []
        notes: list[str] = []
        if n > 1:
            for i in _frame_indices(n):
                try:
                    img.seek(i)
                    img.load()
                except (OSError, EOFError, ValueError):
                    truncated = True
                    break
                frames += _to_gray(img)
            notes.append(f"tried {len(_frame_indices(n))} of {n} animation frames")
        else:
            frames = _to_gray(img)
    except PhotoDecodeError:
        raise
    except Exception as exc:  # image plugins raise anything on hostile input
        raise PhotoDecodeError("not-an-image", f"not a readable image: {exc}") from exc
    if not frames:
        raise PhotoDecodeError("not-an-image", "the image holds no frame that decodes")
    small = min(min(f.shape[:2]) for f in frames)
    if small < MIN_SIDE:
        f = frames[0]
        raise PhotoDecodeError(
            "no-code-found",
            f"image is only {f.shape[1]}x{f.shape[0]} pixels, too small to hold a QR code",
        )
    if truncated:
        notes.append("the file was cut short: read the part that decodes")
    return Loaded([np.ascontiguousarray(f) for f in frames], truncated, notes, fmt)


def load_gray(source: str | os.PathLike[str] | bytes) -> Gray:
    """The first frame as 8-bit luminance (EXIF orientation applied, alpha on white)."""
    return load(source).frames[0]
