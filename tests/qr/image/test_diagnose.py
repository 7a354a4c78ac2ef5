"""A miss says what to do, the same way on every run (issue 15): advice from the image only."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kpanic.errors import PhotoDecodeError
from kpanic.qr.image import decode_photo
from kpanic.qr.image.diagnose import measure
from kpanic.qr.image.loading import load_gray
from tests.qr.image.helpers import one_per_version, render

V = {v["version"]: v for v in one_per_version()}
CODE = render(V[10]["matrix"], px=8)


def jpg(img: np.ndarray, q: int = 85) -> bytes:
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])[1].tobytes()


def page(code: np.ndarray, shape: tuple[int, int] = (1200, 1600)) -> np.ndarray:
    p = np.full(shape, 235, np.uint8)
    y, x = (shape[0] - code.shape[0]) // 2, (shape[1] - code.shape[1]) // 2
    p[y : y + code.shape[0], x : x + code.shape[1]] = code
    return p


def motion() -> np.ndarray:
    k = np.full((1, 41), 1 / 41, np.float32)
    return page(cv2.filter2D(CODE, -1, k))


def defocus() -> np.ndarray:
    return page(cv2.GaussianBlur(CODE, (0, 0), 7))


def glare() -> np.ndarray:
    g = page(CODE).astype(np.float32)
    yy, xx = np.mgrid[: g.shape[0], : g.shape[1]]
    g += 400 * np.exp(-((xx - 800) ** 2 + (yy - 600) ** 2) / (2 * 250**2))
    return np.clip(g, 0, 255).astype(np.uint8)


def covered() -> np.ndarray:
    """A big finger over the top-right finder and a third of the code: beyond correction."""
    c = page(CODE)
    y0, x0 = (1200 - CODE.shape[0]) // 2, (1600 - CODE.shape[1]) // 2
    c[y0 : y0 + CODE.shape[0] // 2, x0 + CODE.shape[1] // 2 :] = 190
    return c


def far() -> np.ndarray:
    """A v40 code at ~1.2 px per module, slightly blurred: beyond any reader."""
    small = cv2.resize(
        render(V[40]["matrix"], px=4), None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA
    )
    return page(cv2.GaussianBlur(small, (0, 0), 0.7))


CASES = {
    "motion": (motion, "blurred by movement"),
    "defocus": (defocus, "out of focus"),
    "glare": (glare, "overexposed"),
    "covered": (covered, "corner of the code seems covered"),
    "far": (far, "pixels per module): move closer"),
}


def _message(img: np.ndarray, budget: float) -> tuple[str, str]:
    with pytest.raises(PhotoDecodeError) as info:
        decode_photo(jpg(img), time_budget=budget)
    return info.value.reason, str(info.value)


@pytest.mark.parametrize("name", list(CASES))
def test_miss_gives_the_right_advice(name: str) -> None:
    make, words = CASES[name]
    reason, message = _message(make(), 2.0)
    assert reason in ("no-code-found", "too-damaged")
    assert words in message


def test_advice_does_not_depend_on_the_budget() -> None:
    """The wording used to change with machine load ("within the 3.0 s time budget")."""
    img = far()
    short, long_ = _message(img, 0.2), _message(img, 3.0)
    advice_short = short[1].split(". ", 1)[1]
    advice_long = long_[1].split(". ", 1)[1]
    assert advice_short == advice_long
    assert "budget" not in short[1] and "budget" not in long_[1]


def test_far_code_module_estimate_is_close() -> None:
    code = render(V[25]["matrix"], px=3)  # 3 px per module
    f = measure(load_gray(jpg(page(code))))
    assert f.module_px is not None and 2.0 <= f.module_px <= 4.5
