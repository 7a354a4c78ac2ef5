"""Stage 1: zxing-cpp, tried in a cheap-to-expensive order of image variants.

zxing reads about 50 of 60 dev photos on the plain image in ~20 ms. The variants after that
(inverted, upscaled crop, other binarizers, moire blur) each rescued photos in the dev set.
Symbols zxing finds but cannot read are kept as candidates (corners + version) for the own
sampler; zxing's corners are within a pixel of the true ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp

from kpanic.qr.image.candidates import Candidate

Gray = npt.NDArray[np.uint8]


@dataclass
class ZxingHit:
    payload: str
    version: int | None
    method: str


def _version(barcode: zxingcpp.Barcode) -> int | None:
    try:
        return int(barcode.extra.get("Version", ""))
    except (AttributeError, TypeError, ValueError):
        return None


def _corners(barcode: zxingcpp.Barcode) -> npt.NDArray[np.float64]:
    p = barcode.position
    pts = [p.top_left, p.top_right, p.bottom_right, p.bottom_left]
    return np.array([[q.x, q.y] for q in pts], dtype=np.float64)


def _read(
    img: Gray, binarizer: zxingcpp.Binarizer, downscale: bool = True
) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(
        img,
        formats=zxingcpp.BarcodeFormat.QRCode,
        try_rotate=True,
        try_downscale=downscale,
        try_invert=False,
        binarizer=binarizer,
        return_errors=True,
    )


def _crop_box(cands: list[Candidate], shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """A box around the biggest candidate, quiet zone and a bit more included."""
    if not cands:
        return None
    best = max(cands, key=lambda c: c.side())
    c = best.corners
    pad = 0.15 * best.side()
    x0, y0 = np.floor(c.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(c.max(axis=0) + pad).astype(int)
    h, w = shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 21 or y1 - y0 < 21:
        return None
    return int(x0), int(y0), int(x1), int(y1)


def run(gray: Gray, deadline: float) -> tuple[ZxingHit | None, list[Candidate]]:
    """Try the variants until one reads; return the hit and every located-but-unread symbol."""
    cands: list[Candidate] = []
    la, gh = zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram

    def attempt(
        img: Gray,
        name: str,
        inverted: bool,
        binarizer: zxingcpp.Binarizer,
        scale: float = 1.0,
        offset: tuple[int, int] = (0, 0),
        downscale: bool = True,
    ) -> ZxingHit | None:
        for bc in _read(img, binarizer, downscale):
            if bc.valid:
                return ZxingHit(bc.bytes.decode("latin-1"), _version(bc), name)
            v = _version(bc)
            corners = _corners(bc) / scale + np.array(offset, dtype=np.float64)
            cand = Candidate(corners, v, inverted, name)
            if v is not None and 1 <= v <= 40 and not any(cand.same_place(c) for c in cands):
                cands.append(cand)
        return None

    inv = cv2.bitwise_not(gray)
    plan: list[tuple[str, Callable[[], ZxingHit | None]]] = [
        ("zxing", lambda: attempt(gray, "zxing", False, la)),
        ("zxing-inverted", lambda: attempt(inv, "zxing-inverted", True, la)),
    ]
    for i, (_name, step) in enumerate(plan):
        if i and time.monotonic() > deadline:  # the plain read always runs: it is the cheapest
            return None, cands
        hit = step()
        if hit:
            return hit, cands

    # Upscaled: on a crop around a located symbol if there is one, else the whole image.
    box = _crop_box(cands, gray.shape)
    if box is not None:
        x0, y0, x1, y1 = box
        base, off = gray[y0:y1, x0:x1], (x0, y0)
    else:
        base, off = gray, (0, 0)
    pols = [False, True]
    if cands and cands[0].inverted is not None:
        pols = [bool(cands[0].inverted)]
    for scale, blur, binarizer, tag in (
        (1.5, 0.0, la, "zxing-upscaled"),
        (1.0, 0.0, gh, "zxing-globalhist"),
        (2.0, 0.0, la, "zxing-upscaled2"),
        (1.5, 0.8, la, "zxing-blurred"),
    ):
        if base.shape[0] * base.shape[1] * scale * scale > 30e6:
            continue
        img = base
        if scale != 1.0:
            img = cv2.resize(base, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        if blur:
            img = cv2.GaussianBlur(img, (0, 0), blur * scale)
        for inverted in pols:
            if time.monotonic() > deadline:
                return None, cands
            src = cv2.bitwise_not(img) if inverted else img
            name = tag + ("-inverted" if inverted else "")
            hit = attempt(src, name, inverted, binarizer, scale, off, downscale=box is None)
            if hit:
                return hit, cands
    return None, cands
