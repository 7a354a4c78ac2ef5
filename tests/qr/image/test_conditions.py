"""Photos people really take (issue 15): a covered corner, a far-away code."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kpanic.qr.image import decode_photo
from tests.qr.image.helpers import expected_text, one_per_version, render

V = {v["version"]: v for v in one_per_version()}


def jpg(img: np.ndarray, q: int = 85) -> bytes:
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])[1].tobytes()


def on_page(code: np.ndarray, shape: tuple[int, int] = (1200, 1600)) -> tuple[np.ndarray, int, int]:
    p = np.full(shape, 235, np.uint8)
    y, x = (shape[0] - code.shape[0]) // 2, (shape[1] - code.shape[1]) // 2
    p[y : y + code.shape[0], x : x + code.shape[1]] = code
    return p, y, x


@pytest.mark.parametrize("corner", ["top-right", "bottom-left", "top-left"])
@pytest.mark.parametrize("version", [10, 20])
def test_one_finder_covered_by_a_finger(corner: str, version: int) -> None:
    """Finger grey over one finder and its surroundings: no reader sees three finders."""
    v, px = V[version], 6
    n = len(v["matrix"])
    img, y0, x0 = on_page(render(v["matrix"], px=px))
    q = 4 * px  # quiet zone
    size = px * 10  # the finder, its separator and two more modules
    ys = {"top-right": q - px, "bottom-left": q + px * (n - 9), "top-left": q - px}[corner]
    xs = {"top-right": q + px * (n - 9), "bottom-left": q - px, "top-left": q - px}[corner]
    img[y0 + ys : y0 + ys + size, x0 + xs : x0 + xs + size] = 190
    res = decode_photo(jpg(img))
    assert res.payload == expected_text(v)
    assert "finders" in res.method


@pytest.mark.parametrize("version,ppm", [(40, 2.0), (25, 2.0), (40, 2.5)])
def test_far_away_code_is_located_cropped_and_resampled(version: int, ppm: float) -> None:
    """2-2.5 image pixels per module in a 12 MP photo with sensor noise and JPEG."""
    v = V[version]
    code = cv2.resize(
        render(v["matrix"], px=8), None, fx=ppm / 8, fy=ppm / 8, interpolation=cv2.INTER_AREA
    )
    img, _, _ = on_page(code, (3024, 4032))
    img = cv2.GaussianBlur(img, (0, 0), 0.9)
    noise = np.random.default_rng(version).normal(0, 6, img.shape)
    img = np.clip(img + noise, 0, 255).astype(np.uint8)
    res = decode_photo(jpg(img, 80))
    assert res.payload == expected_text(v)
