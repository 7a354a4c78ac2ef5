"""Stage 1: zxing-cpp, tried in a cheap-to-expensive order of image variants.

zxing reads about 50 of 60 dev photos on the plain image in ~20 ms. The variants after that
(inverted, upscaled crop, other binarizers, moire blur) each rescued photos in the dev set.
Symbols zxing finds but cannot read are kept as candidates (corners + version) for the own
sampler; zxing's corners are within a pixel of the true ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp

from kpanic.qr.image import density
from kpanic.qr.image.budget import Budget
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


def _tiles(w: int, h: int, side: int) -> list[tuple[int, int, int, int]]:
    """Boxes of about ``side`` pixels overlapping by a third, centre tiles first."""
    step = max(1, (2 * side) // 3)
    xs = list(range(0, max(1, w - side) + 1, step)) or [0]
    ys = list(range(0, max(1, h - side) + 1, step)) or [0]
    if xs[-1] + side < w:
        xs.append(max(0, w - side))
    if ys[-1] + side < h:
        ys.append(max(0, h - side))
    boxes = [(x, y, min(w, x + side), min(h, y + side)) for y in ys for x in xs]
    boxes.sort(key=lambda b: abs(b[0] + b[2] - w) + abs(b[1] + b[3] - h))
    return boxes


MAX_CANDIDATES = 12  # located-but-unread symbols kept for the own sampler (biggest first)
TILE_SIDE = 1536  # when a whole-image call is unaffordable, tiles this big are read instead


@dataclass
class ZxingRun:
    hits: list[ZxingHit] = field(default_factory=list)
    cands: list[Candidate] = field(default_factory=list)
    skipped: int = 0  # calls not made because the budget could not afford them


def run(
    gray: Gray,
    budget: Budget,
    accept: Callable[[ZxingHit], bool] = lambda _h: True,
) -> ZxingRun:
    """Try the variants until one gives a hit ``accept`` takes; every valid read is kept in
    ``hits`` and every located-but-unread symbol in ``cands``.

    Before each zxing call (which cannot be interrupted) its cost is predicted from the image
    size and the number of finder-like runs in it; a call the budget cannot afford is split
    into tiles, and tiles are read while the budget lasts.
    """
    out = ZxingRun()
    la, gh = zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram
    runs = density.finder_runs(gray, density.stride_for(gray))
    seen: set[str] = set()
    corners_seen: list[npt.NDArray[np.float64]] = []

    def keep(cand: Candidate) -> None:
        if len(out.cands) >= 4 * MAX_CANDIDATES:
            return
        side = cand.side()
        for c in corners_seen:
            if np.max(np.abs(c - cand.corners)) < 0.05 * side:
                return
        corners_seen.append(cand.corners)
        out.cands.append(cand)

    def call(
        img: Gray,
        name: str,
        inverted: bool,
        binarizer: zxingcpp.Binarizer,
        scale: float,
        offset: tuple[int, int],
        downscale: bool,
    ) -> ZxingHit | None:
        for bc in _read(img, binarizer, downscale):
            if bc.valid:
                payload = bc.bytes.decode("latin-1")
                hit = ZxingHit(payload, _version(bc), name)
                if payload not in seen:
                    seen.add(payload)
                    out.hits.append(hit)
                if accept(hit):
                    return hit
                continue
            v = _version(bc)
            corners = _corners(bc) / scale + np.array(offset, dtype=np.float64)
            if v is not None and 1 <= v <= 40:
                keep(Candidate(corners, v, inverted, name))
        return None

    def attempt(
        img: Gray,
        name: str,
        inverted: bool,
        binarizer: zxingcpp.Binarizer,
        scale: float = 1.0,
        offset: tuple[int, int] = (0, 0),
        downscale: bool = True,
        box: tuple[int, int, int, int] | None = None,
    ) -> ZxingHit | None:
        pts = runs[1] if inverted else runs[0]
        h, w = gray.shape
        region = box or (0, 0, w, h)
        cost = density.zxing_cost(img.size, density.runs_in(pts, region))
        if cost <= budget.left():
            return call(img, name, inverted, binarizer, scale, offset, downscale)
        if scale != 1.0 or box is not None:  # variants are a luxury: skip, do not tile
            out.skipped += 1
            return None
        for x0, y0, x1, y1 in _tiles(w, h, TILE_SIDE):
            n = density.runs_in(pts, (x0, y0, x1, y1))
            tile_cost = density.zxing_cost((x1 - x0) * (y1 - y0), n)
            if not budget.affords(tile_cost):
                out.skipped += 1
                return None
            tile = img[y0:y1, x0:x1]
            hit = call(tile, name + "-tiled", inverted, binarizer, 1.0, (x0, y0), downscale)
            if hit:
                return hit
        return None

    inv = cv2.bitwise_not(gray)
    plan: list[Callable[[], ZxingHit | None]] = [
        lambda: attempt(gray, "zxing", False, la),
        lambda: attempt(inv, "zxing-inverted", True, la),
    ]
    for step in plan:
        if budget.expired():
            return out
        hit = step()
        if hit:
            return out

    # Upscaled: on a crop around a located symbol if there is one, else the whole image.
    out.cands.sort(key=lambda c: -c.side())
    del out.cands[MAX_CANDIDATES:]
    box = _crop_box(out.cands, gray.shape)
    if box is None:  # nothing located: where the finder-like runs cluster (a far-away code)
        box = density.code_box(gray, runs)
    if box is not None:
        x0, y0, x1, y1 = box
        base, off = gray[y0:y1, x0:x1], (x0, y0)
    else:
        base, off = gray, (0, 0)
    pols = [False, True]
    if out.cands and out.cands[0].inverted is not None:
        pols = [bool(out.cands[0].inverted)]
    if box is not None and not out.cands:  # a small far-away code: resample it bigger
        side = max(box[2] - box[0], box[3] - box[1])
        scales = [3.0, 4.0] if side < 900 else [2.0]
    else:
        scales = []
    for scale, blur, binarizer, tag in (
        *((s_, 0.0, la, f"zxing-crop{s_:.0f}x") for s_ in scales),
        (1.5, 0.0, la, "zxing-upscaled"),
        (1.0, 0.0, gh, "zxing-globalhist"),
        (2.0, 0.0, la, "zxing-upscaled2"),
        (1.5, 0.8, la, "zxing-blurred"),
    ):
        if base.shape[0] * base.shape[1] * scale * scale > 30e6:
            continue
        for inverted in pols:
            if budget.expired():
                return out
            img = base
            if scale != 1.0:
                img = cv2.resize(base, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            if blur:
                img = cv2.GaussianBlur(img, (0, 0), blur * scale)
            src = cv2.bitwise_not(img) if inverted else img
            name = tag + ("-inverted" if inverted else "")
            hit = attempt(src, name, inverted, binarizer, scale, off, box is None, box)
            if hit:
                return out
    out.cands.sort(key=lambda c: -c.side())
    del out.cands[MAX_CANDIDATES:]
    return out
