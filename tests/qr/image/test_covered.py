"""A finger over one finder pattern: the geometry from two finders and the code's outline.

The photos come from kpanic's own generator (tests/photogen, family "covered": one finder
fully under a finger-like blob, any of the three corners). The seeds are the ones the reader
missed before the outline stage (the third finder assumed square to the other two).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from kpanic.qr.image import decode_photo, locate, outline
from kpanic.qr.image.budget import Budget
from tests.photogen import sample

MISSED_BEFORE = (1, 4, 10, 12, 17, 18)


@pytest.mark.slow
@pytest.mark.parametrize("seed", MISSED_BEFORE)
def test_covered_finder_reads(seed: int) -> None:
    s = sample("covered", seed)
    res = decode_photo(s.data)
    assert res.payload == s.payload, s.note


def _gray(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


@pytest.mark.slow
@pytest.mark.parametrize("seed", (0, 3, 11))
def test_outline_corners_sit_where_the_quiet_zone_ends(seed: int) -> None:
    """Only two finders are visible; the outline's corner next to each sits 7.5 modules
    diagonally out from the finder's centre (module size from the decoded version)."""
    s = sample("covered", seed)
    n = 17 + 4 * int(decode_photo(s.data).version or 0)
    g = np.asarray(Image.open(io.BytesIO(s.data)).convert("L"))
    errors = []
    for img in (g, 255 - g):
        finders = locate.find_finders(img)
        assert not locate.triples(finders)  # the third finder really is covered
        for a, b in outline.pairs(finders):
            for ol in outline.find(img, a, b, Budget(5)):
                side = np.mean([np.linalg.norm(ol.quad[j] - ol.quad[j - 1]) for j in range(4)])
                module = side / (n + 2 * outline.QUIET)
                for f, i in ((a, ol.seen[0]), (b, ol.seen[1])):
                    dist = np.linalg.norm(ol.quad[i] - f.centre) / module
                    errors.append(abs(dist - 7.5 * np.sqrt(2)))
    assert errors, "no outline found around the two seen finders"
    assert min(errors) < 1.0


def test_hypotheses_put_the_covered_finder_on_a_free_corner() -> None:
    quad = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], np.float64)
    # finders seen at the first two corners clockwise: (TL, TR) or (BL, TL)
    hyps = outline.hypotheses(outline.Outline(quad, (0, 1)))
    assert [tuple(h[0][0]) for h in hyps] == [(0.0, 0.0), (10.0, 0.0)]
    assert [h[1] for h in hyps] == [(0, 1), (3, 0)]
    # on the diagonal: they are TR and BL, TL is one of the two other corners
    hyps = outline.hypotheses(outline.Outline(quad, (1, 3)))
    assert sorted(h[1] for h in hyps) == [(1, 3), (3, 1)]
