"""Rectify a located symbol onto its module grid, refined with the alignment patterns.

The corners give a homography; lens distortion and corner error leave the grid off by up to a
module or two on large symbols. Every alignment pattern (and finder) is found again by
template matching in the rectified image; a homography fitted to all of them plus a bilinear
field of the leftover displacements gives each module centre's image position.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from kpanic.qr import layout, tables
from kpanic.qr.image.budget import Budget

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]

MODULE_SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64)


def _finder_template() -> npt.NDArray[np.float32]:
    t = np.zeros((7, 7), np.float32)
    for r in range(7):
        for c in range(7):
            ring = max(abs(r - 3), abs(c - 3))
            t[r, c] = 1.0 if ring in (0, 1, 3) else 0.0
    return t


def _align_template() -> npt.NDArray[np.float32]:
    t = np.zeros((5, 5), np.float32)
    for r in range(5):
        for c in range(5):
            t[r, c] = 0.0 if max(abs(r - 2), abs(c - 2)) == 1 else 1.0
    return t


@dataclass
class Grid:
    """Module-space (u = column, v = row, in modules, 0..n) to image mapping."""

    n: int
    homography: F64  # module space -> image
    nodes: F64  # module coordinates of the displacement grid nodes (1-D, same for u and v)
    disp: F64  # (len(nodes), len(nodes), 2) image-pixel displacement at each node (row = v)

    def to_image(self, u: F64, v: F64) -> tuple[F64, F64]:
        pts = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], axis=0)
        q = self.homography @ pts
        x = q[0] / q[2]
        y = q[1] / q[2]
        if len(self.nodes) >= 2:
            dx, dy = self._interp(u.ravel(), v.ravel())
            x = x + dx
            y = y + dy
        return x.reshape(u.shape), y.reshape(u.shape)

    def _interp(self, u: F64, v: F64) -> tuple[F64, F64]:
        nodes = self.nodes
        iu = np.clip(np.searchsorted(nodes, u) - 1, 0, len(nodes) - 2)
        iv = np.clip(np.searchsorted(nodes, v) - 1, 0, len(nodes) - 2)
        fu = (u - nodes[iu]) / (nodes[iu + 1] - nodes[iu])
        fv = (v - nodes[iv]) / (nodes[iv + 1] - nodes[iv])
        fu = np.clip(fu, -0.6, 1.6)
        fv = np.clip(fv, -0.6, 1.6)
        d = self.disp
        out = (
            d[iv, iu] * ((1 - fu) * (1 - fv))[:, None]
            + d[iv, iu + 1] * (fu * (1 - fv))[:, None]
            + d[iv + 1, iu] * ((1 - fu) * fv)[:, None]
            + d[iv + 1, iu + 1] * (fu * fv)[:, None]
        )
        return out[:, 0], out[:, 1]


def homography_from_corners(corners: F64, n: int) -> F64:
    src = (MODULE_SQUARE * n).astype(np.float32)
    return cv2.getPerspectiveTransform(src, corners.astype(np.float32)).astype(np.float64)


def rectify(gray: npt.NDArray[np.float32], grid: Grid, scale: int, margin: int) -> F32:
    """Image resampled to ``scale`` px per module, with ``margin`` modules around the symbol.

    The mapping is smooth, so it is evaluated once per module and upsampled bilinearly
    (cv2.resize keeps pixel centres aligned), which is far cheaper than per pixel.
    """
    cells = grid.n + 2 * margin
    px = np.arange(cells, dtype=np.float64) + 0.5 - margin
    u, v = np.meshgrid(px, px)
    x, y = grid.to_image(u, v)
    size = cells * scale
    mx = cv2.resize((x - 0.5).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    my = cv2.resize((y - 0.5).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    return cv2.remap(gray, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _match(
    rect: F32,
    template: npt.NDArray[np.float32],
    centre: tuple[float, float],
    scale: int,
    margin: int,
    search: float,
) -> tuple[float, float, float] | None:
    """Best (du, dv, score) in modules for ``template`` expected centred at module ``centre``."""
    k = template.shape[0]
    tpl = cv2.resize(template, (k * scale, k * scale), interpolation=cv2.INTER_NEAREST)
    cu, cv_ = centre
    half = k * scale / 2
    s = int(round(search * scale))
    x0 = int(round((cu + margin) * scale - half)) - s
    y0 = int(round((cv_ + margin) * scale - half)) - s
    x1, y1 = x0 + k * scale + 2 * s, y0 + k * scale + 2 * s
    if x0 < 0 or y0 < 0 or x1 > rect.shape[1] or y1 > rect.shape[0]:
        return None
    win = rect[y0:y1, x0:x1]
    res = cv2.matchTemplate(win, tpl, cv2.TM_CCOEFF_NORMED)
    _, score, _, loc = cv2.minMaxLoc(res)
    bx, by = loc
    # Sub-pixel peak by a parabola through the neighbours.
    fx = fy = 0.0
    if 0 < bx < res.shape[1] - 1:
        a, b, c = res[by, bx - 1], res[by, bx], res[by, bx + 1]
        den = a - 2 * b + c
        fx = 0.5 * (a - c) / den if den < 0 else 0.0
    if 0 < by < res.shape[0] - 1:
        a, b, c = res[by - 1, bx], res[by, bx], res[by + 1, bx]
        den = a - 2 * b + c
        fy = 0.5 * (a - c) / den if den < 0 else 0.0
    return (bx + fx - s) / scale, (by + fy - s) / scale, float(score)


def anchor_points(version: int) -> list[tuple[float, float, str]]:
    """Module-space centres of the finders and alignment patterns (u, v, kind)."""
    n = tables.size(version)
    pts: list[tuple[float, float, str]] = [
        (3.5, 3.5, "finder"),
        (n - 3.5, 3.5, "finder"),
        (3.5, n - 3.5, "finder"),
    ]
    pts += [(c + 0.5, r + 0.5, "align") for r, c in layout.alignment_centres(version)]
    return pts


def refine(
    gray: npt.NDArray[np.float32], grid: Grid, passes: int = 2, budget: Budget | None = None
) -> Grid:
    """Re-find every finder/alignment pattern and fit homography + displacement field."""
    version = (grid.n - 17) // 4
    scale, margin = 6, 2
    anchors = anchor_points(version)
    ftpl, atpl = _finder_template(), _align_template()
    for it in range(passes):
        if budget is not None:
            budget.check()
        rect = rectify(gray, grid, scale, margin)
        # dark modules -> 1: invert the rectified luminance for the templates
        rect = (255.0 - rect).astype(np.float32)
        src, dst, ok = [], [], []
        search = 2.0 if it == 0 else 1.0
        for u, v, kind in anchors:
            tpl = ftpl if kind == "finder" else atpl
            m = _match(rect, tpl, (u, v), scale, margin, search)
            if m is None or m[2] < 0.35:
                continue
            du, dv, _ = m
            x, y = grid.to_image(np.array([u + du]), np.array([v + dv]))
            src.append((u, v))
            dst.append((x[0], y[0]))
            ok.append(kind)
        if len(src) < 4:
            return grid
        s_arr = np.array(src, np.float64)
        d_arr = np.array(dst, np.float64)
        h, inl = cv2.findHomography(s_arr, d_arr, cv2.RANSAC, 0.6 * _module_px(grid))
        if h is None:
            return grid
        pos = tables.ALIGNMENT_POSITIONS[version]
        if len(pos) < 2:
            return Grid(grid.n, h, np.zeros(0), np.zeros((0, 0, 2)))
        nodes = np.array([p + 0.5 for p in pos], np.float64)
        nodes[0], nodes[-1] = 3.5, grid.n - 3.5
        disp = np.full((len(nodes), len(nodes), 2), np.nan)
        proj = cv2.perspectiveTransform(s_arr[None].astype(np.float64), h)[0]
        resid = d_arr - proj
        lim = 1.5 * _module_px(grid)
        for (u, v), r in zip(s_arr, resid, strict=True):
            if np.hypot(*r) > lim:
                continue
            iu = int(np.argmin(np.abs(nodes - u)))
            iv = int(np.argmin(np.abs(nodes - v)))
            disp[iv, iu] = r
        disp = _fill(disp)
        grid = Grid(grid.n, h, nodes, disp)
    return grid


def _fill(disp: F64) -> F64:
    """Replace missing node displacements by the mean of their known neighbours (or 0)."""
    out = disp.copy()
    for _ in range(len(disp)):
        miss = np.isnan(out[..., 0])
        if not miss.any():
            break
        for iv, iu in zip(*np.nonzero(miss), strict=True):
            nb = [
                out[a, b]
                for a, b in ((iv - 1, iu), (iv + 1, iu), (iv, iu - 1), (iv, iu + 1))
                if 0 <= a < len(out) and 0 <= b < len(out) and not np.isnan(out[a, b, 0])
            ]
            if nb:
                out[iv, iu] = np.mean(nb, axis=0)
    return np.nan_to_num(out)


def _module_px(grid: Grid) -> float:
    c = cv2.perspectiveTransform(
        (MODULE_SQUARE * grid.n)[None].astype(np.float64), grid.homography
    )[0]
    return float(np.mean([np.linalg.norm(c[i] - c[(i + 1) % 4]) for i in range(4)]) / grid.n)


def initial_grid(corners: F64, version: int) -> Grid:
    n = tables.size(version)
    return Grid(n, homography_from_corners(corners, n), np.zeros(0), np.zeros((0, 0, 2)))
