"""decode_photo on clean renders of the kernel vectors (v1..v40, normal and inverted)."""

from __future__ import annotations

import io
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from kpanic.errors import PhotoDecodeError
from kpanic.qr.image import PhotoResult, decode_matrix, decode_photo
from kpanic.qr.image.budget import Budget
from kpanic.qr.image.kind import classify
from tests.qr.image.helpers import all_vectors, expected_text, one_per_version, png_bytes, render

PER_VERSION = one_per_version()


@pytest.mark.parametrize("inverted", [False, True], ids=["normal", "inverted"])
@pytest.mark.parametrize("vector", PER_VERSION, ids=[f"v{v['version']}" for v in PER_VERSION])
def test_clean_render_decodes_exactly(vector: dict[str, Any], inverted: bool) -> None:
    """Panic-shaped payloads come back exactly; the few raw vectors that hold a log fragment
    without any kernel-log mark (v1's "(") are indistinguishable from someone else's QR code,
    so they are refused as foreign codes, with their exact text."""
    image = png_bytes(render(vector["matrix"], px=3, inverted=inverted))
    if classify(expected_text(vector)) == "foreign":
        with pytest.raises(PhotoDecodeError) as info:
            decode_photo(image)
        assert info.value.reason == "foreign-code"
        assert info.value.foreign == [expected_text(vector)]
        return
    res = decode_photo(image)
    assert isinstance(res, PhotoResult)
    assert res.payload == expected_text(vector)
    assert res.version == vector["version"]
    assert res.method.startswith("zxing")
    assert ("inverted" in res.method) == inverted


@pytest.mark.parametrize("inverted", [False, True], ids=["normal", "inverted"])
def test_invalid_numeric_legacy_symbols_decode_leniently(inverted: bool) -> None:
    """zxing refuses these (a 3-digit group worth > 999); our own sampler must read them."""
    bad = [v for v in all_vectors() if v.get("legacy_tail_defect") == "invalid_numeric"]
    assert bad
    for v in bad:
        img = render(v["matrix"], px=5, inverted=inverted)
        res = decode_photo(png_bytes(img))
        assert res.payload == v["url_lenient"]
        assert res.method.endswith("grid-soft-rs")
        assert res.version == v["version"]


def test_blurred_rotated_render_and_other_formats() -> None:
    v = next(x for x in PER_VERSION if x["version"] == 20)
    img = render(v["matrix"], px=4)
    img = cv2.copyMakeBorder(img, 60, 60, 60, 60, cv2.BORDER_CONSTANT, value=20)
    h, w = img.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 23, 0.9)
    img = cv2.warpAffine(img, rot, (w, h), borderValue=20)
    img = cv2.GaussianBlur(img, (0, 0), 1.2)
    pil = Image.fromarray(img)
    for fmt, opts in (("JPEG", {"quality": 60}), ("WEBP", {"quality": 80}), ("HEIF", {})):
        buf = io.BytesIO()
        if fmt == "HEIF":
            from pillow_heif import register_heif_opener

            register_heif_opener()
        pil.convert("RGB").save(buf, fmt, **opts)
        res = decode_photo(buf.getvalue())
        assert res.payload == expected_text(v), fmt
        assert res.to_dict()["payload"] == res.payload
        assert res.elapsed >= 0


def test_own_sampler_reads_a_blurred_noisy_render() -> None:
    """The own path alone (refined grid, equaliser, soft RS) from slightly wrong corners."""
    from kpanic.qr.image import own
    from kpanic.qr.image.grid import initial_grid, refine

    v = next(x for x in PER_VERSION if x["version"] == 30)
    px, border = 3, 4
    img = render(v["matrix"], px=px, border=border).astype(np.float32)
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(img, (0, 0), 1.3) + rng.normal(0, 25, img.shape).astype(np.float32)
    n = len(v["matrix"])
    o = border * px
    corners = np.array([[o, o], [o + n * px, o], [o + n * px, o + n * px], [o, o + n * px]], float)
    corners += rng.normal(0, 1.0, corners.shape)  # a slightly wrong localisation
    grid = refine(img, initial_grid(corners, v["version"]))
    res = own.decode_grid(img, grid, v["version"], Budget(1e9))
    assert isinstance(res, own.OwnResult)
    assert res.payload == expected_text(v)
    assert res.corrected > 0  # the render really is damaged
    # and the whole pipeline gets there on its own (zxing-cpp 3.1.1 reads nothing here)
    photo = decode_photo(png_bytes(np.clip(img, 0, 255).astype(np.uint8)))
    assert photo.payload == expected_text(v)


@pytest.mark.parametrize("mask", [0, 3, 6])
def test_own_sampler_reads_the_mask_from_format_info(mask: int) -> None:
    """drm_panic always uses mask 0; the own path still follows the symbol's format bits."""
    from kpanic.qr import layout, tables
    from kpanic.qr.image import own
    from kpanic.qr.image.grid import initial_grid, refine
    from kpanic.qr.image.symbol import as_matrix, mask_array

    v = next(x for x in PER_VERSION if x["version"] == 12)
    m = as_matrix(v["matrix"]).copy()
    _, reserved = layout.function_modules(12)
    data = ~reserved
    m[data] ^= (mask_array(12, 0) ^ mask_array(12, mask))[data]
    word = tables.format_word(mask)
    for positions in layout.format_positions(12):
        for i, p in enumerate(positions):
            m[p] = (word >> (14 - i)) & 1
    assert decode_matrix(m) == expected_text(v)  # the altered symbol is valid
    rows = ["".join(str(int(b)) for b in row) for row in m]
    px = 4
    img = cv2.GaussianBlur(render(rows, px=px).astype(np.float32), (0, 0), 1.0)
    n, o = len(rows), 4 * px
    corners = np.array([[o, o], [o + n * px, o], [o + n * px, o + n * px], [o, o + n * px]], float)
    res = own.decode_grid(img, refine(img, initial_grid(corners, 12)), 12, Budget(1e9))
    assert isinstance(res, own.OwnResult)
    assert res.payload == expected_text(v)
