"""Foreign QR codes in view (issue 15): never returned as the kernel log.

The foreign codes come from two encoders: the project's own (raw byte mode, level L, what a
kernel would draw) and zxing-cpp's writer (another encoder: other EC level and mask).
"""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp

from kpanic.errors import PhotoDecodeError
from kpanic.qr.encode import encode
from kpanic.qr.image import decode_photo
from kpanic.qr.image.kind import classify
from tests.qr.image.helpers import all_vectors, expected_text, one_per_version, png_bytes, render

WIFI = "WIFI:S:HomeNet;T:WPA;P:correct horse battery staple;;"
ASSET = "ASSET-TAG 004211 / IT dept / property of ACME"
PANIC = next(v for v in one_per_version() if v["version"] == 10)
PANIC_URL = expected_text(PANIC)


def own_code(text: str, px: int) -> np.ndarray:
    code = encode(text.encode())
    return render(code.rows(), px=px)


def zxing_code(text: str, px: int) -> np.ndarray:
    bc = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    img = np.asarray(bc.to_image(scale=px, add_quiet_zones=True))
    return img.astype(np.uint8)


def scene(*parts: np.ndarray, gap: int = 40) -> np.ndarray:
    """Codes side by side on a white page."""
    h = max(p.shape[0] for p in parts) + 2 * gap
    w = sum(p.shape[1] for p in parts) + gap * (len(parts) + 1)
    page = np.full((h, w), 255, np.uint8)
    x = gap
    for p in parts:
        page[gap : gap + p.shape[0], x : x + p.shape[1]] = p
        x += p.shape[1] + gap
    return page


def test_classifier_on_real_payloads() -> None:
    assert classify(PANIC_URL) == "panic-url"
    assert classify("[   85.585032]  drm_sched_free_job_work+0x1c/0x30\n") == "kernel-log"
    assert classify(WIFI) == "foreign"
    assert classify(ASSET) == "foreign"
    assert classify("https://example.com/product?id=12") == "foreign"  # a URL, not z=/zl=


@pytest.mark.parametrize("make", [own_code, zxing_code], ids=["own-encoder", "zxing-writer"])
@pytest.mark.parametrize("text", [WIFI, ASSET], ids=["wifi", "asset-tag"])
def test_foreign_code_alone_is_not_ok(make: object, text: str) -> None:
    img = scene(make(text, 6))  # type: ignore[operator]
    with pytest.raises(PhotoDecodeError) as info:
        decode_photo(png_bytes(img))
    assert info.value.reason == "foreign-code"
    assert info.value.foreign == [text]
    assert "no drm_panic QR code" in str(info.value) and text[:10] in str(info.value)


@pytest.mark.parametrize("order", ["foreign-first", "panic-first"])
def test_panic_code_wins_over_foreign_codes(order: str) -> None:
    panic = render(PANIC["matrix"], px=4)
    foreign = [zxing_code(ASSET, 10), own_code(WIFI, 8)]  # both bigger than the panic code
    parts = [*foreign, panic] if order == "foreign-first" else [panic, *foreign]
    res = decode_photo(png_bytes(scene(*parts)))
    assert res.payload == PANIC_URL


def test_unreadable_panic_beside_readable_asset_tag_is_not_ok() -> None:
    """The issue's case: the panic code is too small to read, the sticker is sharp."""
    panic = render(PANIC["matrix"], px=3)
    n = len(PANIC["matrix"])
    rng = np.random.default_rng(2)
    inner = panic[3 * 12 : 3 * (n - 4), 3 * 12 : 3 * (n - 4)]  # wipe most of the data area
    inner[:] = np.kron(rng.integers(0, 2, (inner.shape[0] // 3 + 1,) * 2) * 255, np.ones((3, 3)))[
        : inner.shape[0], : inner.shape[1]
    ]
    img = scene(zxing_code(ASSET, 8), panic)
    with pytest.raises(PhotoDecodeError) as info:
        decode_photo(png_bytes(img), time_budget=1.0)
    assert info.value.reason == "foreign-code"
    assert info.value.foreign == [ASSET]


def test_raw_kernel_log_code_is_the_panic() -> None:
    raw = next(
        v
        for v in all_vectors()
        if v["mode"] == "raw" and v["version"] < 20 and classify(expected_text(v)) != "foreign"
    )
    res = decode_photo(png_bytes(scene(zxing_code(WIFI, 8), render(raw["matrix"], px=3))))
    assert res.payload == expected_text(raw)
