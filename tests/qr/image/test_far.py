"""Far away: 2-3 image pixels per module on a 12 MP photo (tests/photogen family "far").

The code is found where the finder-like runs cluster, cropped and resampled bigger; a photo
too blurred to read must still cost no more than the budget (the finder search on a noisy
12 MP background used to take 15-30 s: hundreds of thousands of speckle contours).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import tests.photogen as pg
from kpanic.errors import PhotoDecodeError
from kpanic.qr.image import decode_photo, locate


@pytest.mark.slow
@pytest.mark.parametrize("seed", (4, 7, 11))
def test_far_code_reads(seed: int) -> None:
    s = pg.sample("far", seed)
    assert decode_photo(s.data).payload == s.payload, s.note


def _too_blurred() -> bytes:
    rng = np.random.default_rng(7)
    rows, _text = pg._panic(1, 10)
    scr = pg.screen(rows, 8, False)
    frac = 2.2 * scr.shape[1] / 8 / 3024
    img = pg.photograph(scr, rng, size=(4032, 3024), frac=frac, tilt=0.03, blur=1.6)
    return pg.jpeg(img, 80)


@pytest.mark.slow
def test_unreadable_far_photo_keeps_the_budget() -> None:
    data = _too_blurred()
    t0 = time.process_time()
    with pytest.raises(PhotoDecodeError):
        decode_photo(data, time_budget=2.0)
    assert time.process_time() - t0 < 2.0 * 1.1


def test_contour_cost_sees_speckle() -> None:
    """Noise binarised by the adaptive threshold predicts a far higher cost than a code."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 2, (1000, 1000), dtype=np.uint8) * 255
    blocks = np.kron(rng.integers(0, 2, (100, 100), dtype=np.uint8), np.ones((10, 10), np.uint8))
    assert locate.contour_cost(noise) > 5 * locate.contour_cost(blocks * 255)


def test_finder_search_without_budget_on_speckle() -> None:
    """The speckle path must not need a budget (diagnose calls it without one)."""
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (1000, 1000), dtype=np.uint8)
    assert isinstance(locate.find_finders(noise), list)
