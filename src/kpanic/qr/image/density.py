"""How many finder-like 1:1:3:1:1 runs an image holds: the cost predictor for zxing.

zxing-cpp's QR detector cost grows with the number of finder-pattern candidates and cannot be
interrupted once called: an image tiled with fake finder patterns takes it seconds per
megapixel. Real photos hold a few dozen such runs; hostile tilings hold tens of thousands. The
count is taken on every ``stride``-th row (a finder's 3-module core spans at least that many
rows once modules are 2 px), binarised against a running row mean, fully vectorised.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Gray = npt.NDArray[np.uint8]


def finder_runs(gray: Gray, stride: int = 4) -> tuple[npt.NDArray[np.int32], ...]:
    """(x, y) image positions of the 1:1:3:1:1 runs found, dark-centred ones first (what
    zxing sees on the image) then light-centred ones (what it sees on the inverted image).
    Each is weighted by ``stride / 4``: positions repeat so counts compare across strides."""
    (a, _ua), (b, _ub) = _hits(gray, stride)
    rep = max(1, stride // 4)
    return np.repeat(a, rep, axis=0), np.repeat(b, rep, axis=0)


def module_estimate(gray: Gray) -> float | None:
    """Pixels per module where the 1:1:3:1:1 runs are densest (a QR code's data area and
    finders are full of them), or None when there are too few to tell."""
    (a, ua), (b, ub) = _hits(gray, 4 if gray.size <= 4_000_000 else 8)
    pts, units = np.concatenate([a, b]), np.concatenate([ua, ub])
    if len(pts) < 12:
        return None
    cell = 96
    keys = (pts[:, 1] // cell) * (gray.shape[1] // cell + 1) + pts[:, 0] // cell
    counts = np.bincount(keys)
    best = np.argsort(counts)[::-1][:9]  # the densest cells, a code spans several
    sel = np.isin(keys, best[counts[best] >= 3])
    if np.count_nonzero(sel) < 12:
        return None
    return float(np.median(units[sel]))


def _hits(
    gray: Gray, stride: int
) -> tuple[tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]], ...]:
    rows = gray[::stride]
    none = (np.zeros((0, 2), np.int32), np.zeros(0, np.float32))
    if rows.size == 0:
        return none, none
    w = rows.shape[1]
    k = max(15, (w // 16) | 1)
    mean = cv2.blur(rows, (k, 1), borderType=cv2.BORDER_REPLICATE)
    dark = (rows.astype(np.int16) < mean.astype(np.int16) - 4).astype(np.int8)
    # run boundaries on every row; a sentinel column keeps runs from crossing rows
    flat = np.concatenate([dark, np.full((dark.shape[0], 1), 2, np.int8)], axis=1).ravel()
    change = np.flatnonzero(np.diff(flat)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [flat.size]]))
    values = flat[starts]
    if len(lengths) < 5:
        return none, none
    win = np.lib.stride_tricks.sliding_window_view(lengths, 5).astype(np.float32)
    vals = np.lib.stride_tricks.sliding_window_view(values, 5)
    unit = win.sum(axis=1) / 7.0
    ideal = unit[:, None] * np.array([1, 1, 3, 1, 1], np.float32)
    ratio_ok = np.all(np.abs(win - ideal) < 0.7 * unit[:, None], axis=1)
    ratio_ok &= unit >= 1.0
    out = []
    for core in (1, 0):
        shape_ok = np.all(vals == np.array([core, 1 - core, core, 1 - core, core]), axis=1)
        hit = np.flatnonzero(shape_ok & ratio_ok)
        centre = starts[hit + 2] + lengths[hit + 2] // 2  # middle of the 3-module core
        row, col = np.divmod(centre, w + 1)
        pts = np.stack([col, row * stride], axis=1).astype(np.int32)
        out.append((pts, unit[hit]))
    return out[0], out[1]


def stride_for(gray: Gray) -> int:
    """Every 4th row up to 16 MP, every 8th above (the count stays a cheap, O(rows) pass)."""
    return 4 if gray.size <= 16_000_000 else 8


def zxing_cost(pixels: float, runs: int) -> float:
    """Pessimistic seconds for one zxing-cpp QR read of ``pixels`` holding ``runs`` finder-like
    runs (fitted on tiled fake-finder images from 1 to 36 MP, rounded up by ~20%)."""
    return 0.012 * pixels / 1e6 + 0.45 * (runs / 10_000) ** 1.4


def runs_in(hits: npt.NDArray[np.int32], box: tuple[int, int, int, int]) -> int:
    x0, y0, x1, y1 = box
    x, y = hits[:, 0], hits[:, 1]
    return int(np.count_nonzero((x >= x0) & (x < x1) & (y >= y0) & (y < y1)))


def code_box(
    gray: Gray, runs: tuple[npt.NDArray[np.int32], ...], cell: int = 64
) -> tuple[int, int, int, int] | None:
    """The box around the densest connected cluster of finder-like runs: where a code too
    small for zxing most likely is (its data area is full of such runs), with a margin.
    Each polarity is clustered on its own; sensor noise spreads runs evenly, a code does not,
    so the polarity whose peak stands highest above its median cell wins."""
    h, w = gray.shape
    gh, gw = h // cell + 1, w // cell + 1
    best: tuple[float, npt.NDArray[np.float32]] | None = None
    for pts in runs:
        if len(pts) < 20:
            continue
        counts = np.bincount((pts[:, 1] // cell) * gw + pts[:, 0] // cell, minlength=gh * gw)
        grid = counts.reshape(gh, gw).astype(np.float32)
        contrast = float(grid.max()) / (float(np.median(grid)) + 1.0)
        if best is None or contrast > best[0]:
            best = (contrast, grid)
    if best is None or best[0] < 4:
        return None
    grid = best[1]
    peak, floor = float(grid.max()), float(np.median(grid))
    mask = (grid >= max(0.25 * peak, 3 * floor + 1)).astype(np.uint8)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    _n, labels = cv2.connectedComponents(mask, connectivity=8)
    py, px = np.unravel_index(int(np.argmax(grid)), grid.shape)
    ys, xs = np.nonzero(labels == labels[py, px])
    x0, x1 = int(xs.min()) * cell, int(xs.max() + 1) * cell
    y0, y1 = int(ys.min()) * cell, int(ys.max() + 1) * cell
    pad = max(x1 - x0, y1 - y0) // 6
    box = (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))
    if (box[2] - box[0]) * (box[3] - box[1]) > 0.6 * w * h:
        return None  # the whole picture: no crop to gain
    return box
