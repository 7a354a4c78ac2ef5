"""The time budget is kept inside the decoder (issue 12 defect 1, issue 15's budget item).

Small PNGs tiled with fake finder patterns used to take zxing and the own finder search 20 s
and more; now a miss costs at most the budget + 10% of CPU time, and a valid photo is still
read at once. CPU time is measured, not wall time: the machine may be shared.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from kpanic.errors import PhotoDecodeError
from kpanic.qr.image import decode_photo, density
from tests.qr.image.helpers import one_per_version, png_bytes, render


def fake_finder_tiling(side: int, module: int, gap: int) -> bytes:
    """A PNG of ``side`` px tiled with finder patterns (``module`` px) ``gap`` px apart."""
    ring = np.maximum(*np.abs(np.mgrid[-3:4, -3:4]))
    finder = np.isin(ring, (0, 1, 3))
    cell = np.zeros((7 * module + gap,) * 2, bool)
    cell[: 7 * module, : 7 * module] = np.kron(finder, np.ones((module, module), bool))
    reps = side // cell.shape[0] + 1
    img = np.where(np.tile(cell, (reps, reps))[:side, :side], 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG", optimize=True)
    return buf.getvalue()


HOSTILE = {
    "3.6KB-1000px": (1000, 3, 4),  # the 3.6 KB tiling (took 20 s)
    "11.7KB-2000px": (2000, 3, 4),  # the 11.8 KB-ish tiling (took 176 s)
    "9MP-2px-modules": (3000, 2, 3),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_fake_finder_tiling_costs_at_most_budget_plus_10pct(name: str) -> None:
    data = fake_finder_tiling(*HOSTILE[name])
    if name.startswith("3.6KB"):
        assert 3000 < len(data) < 4500
    if name.startswith("11.7KB"):
        assert 10_000 < len(data) < 14_000
    budget = 1.5
    t0 = time.process_time()
    with pytest.raises(PhotoDecodeError) as info:
        decode_photo(data, time_budget=budget)
    cpu = time.process_time() - t0
    assert info.value.reason in ("no-code-found", "too-damaged")
    assert cpu <= 1.1 * budget, f"{name}: {cpu:.2f} s CPU for a {budget} s budget"


def test_valid_photo_after_hostile_ones_is_read_quickly() -> None:
    """Nothing keeps running after a hostile decode returns: the next photo is fast."""
    decode_photo_fails = fake_finder_tiling(1000, 3, 4)
    with pytest.raises(PhotoDecodeError):
        decode_photo(decode_photo_fails, time_budget=0.5)
    v = one_per_version()[19]
    t0 = time.process_time()
    res = decode_photo(png_bytes(render(v["matrix"], px=4)))
    assert res.payload
    assert time.process_time() - t0 < 1.0


def test_cost_predictor_tells_tilings_from_photos() -> None:
    """The zxing cost model sees the fake finders (and not a real code's data area)."""
    tiling = np.asarray(Image.open(io.BytesIO(fake_finder_tiling(2000, 3, 4))))
    code = render(one_per_version()[39]["matrix"], px=6)
    runs_tiling = len(density.finder_runs(tiling)[0])
    runs_code = len(density.finder_runs(code)[0])
    assert runs_tiling > 10 * max(1, runs_code)
    assert density.zxing_cost(tiling.size, runs_tiling) > 0.25
    assert density.zxing_cost(code.size, runs_code) < 0.05
