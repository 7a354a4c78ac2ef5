"""Bad input gives the right PhotoDecodeError reason, never another exception or a hang."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from kpanic.errors import PhotoDecodeError
from kpanic.qr.image import decode_photo, loading
from tests.qr.image.helpers import one_per_version, png_bytes, render


def _reason(source: bytes | str | Path, **kw: float) -> str:
    with pytest.raises(PhotoDecodeError) as info:
        decode_photo(source, **kw)
    assert str(info.value)
    return info.value.reason


def _jpeg(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


def test_garbage_bytes() -> None:
    assert _reason(np.random.default_rng(0).bytes(5000)) == "not-an-image"
    assert _reason(b"") == "not-an-image"
    assert _reason(b"<html><script>alert(1)</script></html>") == "not-an-image"


def test_missing_file(tmp_path: Path) -> None:
    assert _reason(str(tmp_path / "nope.jpg")) == "not-an-image"


def test_truncated_jpeg_says_the_file_was_cut() -> None:
    """A cut file is decoded as far as it goes (issue 15): here the code is incomplete, so no
    code is found, and the message says the file was cut rather than "not an image"."""
    v = one_per_version()[9]
    data = _jpeg(render(v["matrix"], px=4))
    with pytest.raises(PhotoDecodeError) as info:
        decode_photo(data[: len(data) // 3])
    assert info.value.reason in ("no-code-found", "too-damaged")  # the top third decodes
    assert "cut short" in str(info.value)


def test_one_pixel_and_blank_images() -> None:
    assert _reason(png_bytes(np.zeros((1, 1), np.uint8))) == "no-code-found"
    assert _reason(png_bytes(np.full((600, 800), 200, np.uint8))) == "no-code-found"
    noise = np.random.default_rng(3).integers(0, 255, (400, 400), dtype=np.uint8)
    assert _reason(_jpeg(noise)) == "no-code-found"


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_huge_declared_size() -> None:
    assert _reason(_png_header_only(100_000, 100_000)) == "too-large"
    assert _reason(_png_header_only(9000, 9000)) == "too-large"


def test_file_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "MAX_FILE_BYTES", 1000)
    data = _jpeg(np.full((200, 200), 128, np.uint8)) + b"\x00" * 2000
    assert _reason(data) == "too-large"
    path = tmp_path / "big.jpg"
    path.write_bytes(data)
    assert _reason(str(path)) == "too-large"


def test_damaged_code_says_it_was_found() -> None:
    """A symbol whose data area is wiped: found (finders intact), but too damaged to read."""
    v = one_per_version()[19]
    img = render(v["matrix"], px=4)
    n = len(v["matrix"])
    rng = np.random.default_rng(5)
    o = 4 * 4
    # scramble the middle of the data area (keep finders and most alignment patterns)
    region = img[o + 4 * 12 : o + 4 * (n - 12), o + 4 * 12 : o + 4 * (n - 12)]
    cells = rng.integers(0, 2, (region.shape[0] // 4, region.shape[1] // 4)).astype(np.uint8)
    region[:] = np.kron(cells * 255, np.ones((4, 4), np.uint8))[
        : region.shape[0], : region.shape[1]
    ]
    reason = _reason(png_bytes(img))
    assert reason in ("too-damaged", "checksum-failed")


def test_time_budget_is_respected() -> None:
    noise = np.random.default_rng(4).integers(0, 255, (1500, 2000), dtype=np.uint8)
    t0 = time.monotonic()
    assert _reason(_jpeg(noise), time_budget=0.5) == "no-code-found"
    assert time.monotonic() - t0 < 6.0


def test_rgba_png_with_transparency_is_flattened() -> None:
    v = one_per_version()[9]
    dark = render(v["matrix"], px=4) < 128
    rgba = np.zeros(dark.shape + (4,), np.uint8)
    rgba[dark] = (0, 0, 0, 255)  # light modules fully transparent
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    assert decode_photo(buf.getvalue()).payload
