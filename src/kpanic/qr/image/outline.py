"""A covered finder: the symbol's geometry from two finders and the code's bright outline.

drm_panic draws the code with a 4-module quiet zone in the foreground colour on the screen's
background colour, so (in the polarity where modules are dark) the code is a bright square on
a dark screen. A finger or the bezel over one finder also hides that corner of the square, but
the square's four edges stay visible over most of their length: the convex hull of the bright
region around the two seen finders, cut to its four longest sides, gives the four outer
corners (module coordinates -4 and n + 4) whatever the perspective. The two seen finders say
which corner is which (two hypotheses: the covered one is one of the other two corners); the
version is the one whose fixed patterns (finders, timing, alignment grid) agree best with the
image under the homography of those four corners. The grid is then refined on the timing and
alignment patterns like any other located symbol.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from kpanic.qr import tables
from kpanic.qr.image.budget import Budget
from kpanic.qr.image.locate import Finder

Gray = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

QUIET = 4  # drm_panic's quiet zone, in modules, in the foreground colour
MAX_PAIRS = 6  # finder pairs looked at per polarity


@dataclass
class Outline:
    """The bright square's outer corners in image pixels, clockwise (y down) from any one."""

    quad: F64
    seen: tuple[int, int]  # indices into ``quad`` of the corners next to the seen finders


def _line(p: F64, q: F64) -> F64:
    return np.cross(np.append(p, 1.0), np.append(q, 1.0))


def _meet(a: F64, b: F64) -> F64 | None:
    x = np.cross(a, b)
    if abs(x[2]) < 1e-9:
        return None
    return x[:2] / x[2]


def _clockwise(quad: F64) -> F64:
    c = quad.mean(axis=0)
    ang = np.arctan2(quad[:, 1] - c[1], quad[:, 0] - c[0])
    return quad[np.argsort(ang)]  # y down: increasing angle is clockwise on screen


def _refit(quad: F64, contour: npt.NDArray[np.int32], tol: float) -> F64 | None:
    """Each side re-fitted to the contour points along it (a finger sticking out of the
    square pulls the hull's side off the edge; the edge itself is most of the side)."""
    pts = contour.reshape(-1, 2).astype(np.float64)
    lines = []
    for j in range(4):
        p, q = quad[j], quad[(j + 1) % 4]
        for k in (6.0, 4.0, 2.5, 1.5, 1.0, 1.0):
            d = q - p
            length = float(np.linalg.norm(d))
            if length < 1:
                return None
            d /= length
            rel = pts - p
            t = rel @ d
            dist = np.abs(rel[:, 0] * d[1] - rel[:, 1] * d[0])
            near = (dist < k * tol) & (t > 0.1 * length) & (t < 0.9 * length)
            if near.sum() < 10:
                break
            vx, vy, x0, y0 = cv2.fitLine(
                pts[near].astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01
            )
            u = np.array([float(vx[0]), float(vy[0])])
            c = np.array([float(x0[0]), float(y0[0])])
            # keep the segment's extent, moved onto the fitted line
            p = c + u * float((p - c) @ u)
            q = c + u * float((q - c) @ u)
        lines.append(_line(p, q))
    corners = []
    for j in range(4):
        met = _meet(lines[j - 1], lines[j])
        if met is None:
            return None
        corners.append(met)
    return np.array(corners)


def _hull_quad(contour: npt.NDArray[np.int32], tol: float) -> F64 | None:
    """The quadrilateral of the hull's four longest sides (a bitten corner is cut off)."""
    hull = cv2.convexHull(contour)
    peri = cv2.arcLength(hull, True)
    poly = cv2.approxPolyDP(hull, 0.012 * peri, True).reshape(-1, 2).astype(np.float64)
    k = len(poly)
    if k < 4:
        return None
    lengths = np.array([np.linalg.norm(poly[(i + 1) % k] - poly[i]) for i in range(k)])
    sides = sorted(np.argsort(-lengths)[:4])
    if lengths[sides].min() < 0.25 * peri / 4:
        return None
    lines = [_line(poly[i], poly[(i + 1) % k]) for i in sides]
    corners = []
    for j in range(4):
        p = _meet(lines[j], lines[(j + 1) % 4])
        if p is None:
            return None
        corners.append(p)
    quad = _refit(np.array(corners), contour, tol)
    if quad is None:
        return None
    if not cv2.isContourConvex(quad.astype(np.float32)):
        return None
    # the four sides must be the square's: opposite sides of similar length, angles near 90
    for j in range(4):
        a, b, c = quad[j - 1], quad[j], quad[(j + 1) % 4]
        u, v = a - b, c - b
        cos = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        if abs(cos) > 0.5:
            return None
    return _clockwise(quad)


def _outer_contours(binary: Gray, ca: F64, cb: F64) -> list[npt.NDArray[np.int32]]:
    """Outer boundaries of bright regions. The outermost ones first (cheap: the modules
    inside are not traced); when none holds both finders (a bright surround, say a lit desk,
    has the screen as a hole), every outer boundary, holes' islands included."""
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    pts = [(float(ca[0]), float(ca[1])), (float(cb[0]), float(cb[1]))]
    inside = [c for c in contours if all(cv2.pointPolygonTest(c, p, False) > 0 for p in pts)]
    small = [np.asarray(c, np.int32) for c in inside if cv2.contourArea(c) < 0.8 * binary.size]
    if small:
        return small
    contours, hier = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hier is None:
        return []
    return [
        np.asarray(c, np.int32) for c, link in zip(contours, hier[0], strict=True) if link[3] < 0
    ]


def find(img: Gray, a: Finder, b: Finder, budget: Budget | None = None) -> list[Outline]:
    """Bright squares around finders ``a`` and ``b`` (``img``: modules dark), one per
    threshold and opening that gives a different one (a finger of the quiet zone's brightness
    joins the square at one threshold and is cut off at another; the opening that detaches
    the text lines below can also cut a thin quiet zone): the version score picks."""
    d = float(np.linalg.norm(b.centre - a.centre))
    mid = (a.centre + b.centre) / 2
    h, w = img.shape
    r = int(1.6 * d)
    x0, y0 = max(0, int(mid[0]) - r), max(0, int(mid[1]) - r)
    x1, y1 = min(w, int(mid[0]) + r), min(h, int(mid[1]) + r)
    roi = img[y0:y1, x0:x1]
    out: list[Outline] = []
    if roi.size == 0:
        return out
    lo, hi = np.percentile(roi, (5, 95))
    if hi - lo < 30:
        return out
    module = (a.module + b.module) / 2
    k = max(3, int(1.6 * module) | 1)
    kernels = [np.ones((3, 3), np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))]
    ca, cb = a.centre - (x0, y0), b.centre - (x0, y0)
    for frac in (0.75, 0.55):
        level = (roi > lo + frac * (hi - lo)).astype(np.uint8)
        for kernel in kernels:
            if budget is not None:
                budget.check()
            binary = np.asarray(cv2.morphologyEx(level, cv2.MORPH_OPEN, kernel), np.uint8)
            enclosing = []
            for cnt in _outer_contours(binary, ca, cb):
                if len(cnt) < 8:
                    continue
                area = cv2.contourArea(cnt)
                if area < 0.3 * d * d:
                    continue
                pa = cv2.pointPolygonTest(cnt, (float(ca[0]), float(ca[1])), False)
                pb = cv2.pointPolygonTest(cnt, (float(cb[0]), float(cb[1])), False)
                if pa > 0 and pb > 0:
                    enclosing.append((area, cnt))
            enclosing.sort(key=lambda e: e[0])
            for _area, cnt in enclosing[:1]:
                quad = _hull_quad(cnt, max(2.5, 0.7 * module))
                if quad is None:
                    continue
                quad = quad + (x0, y0)
                side = float(np.mean([np.linalg.norm(quad[i] - quad[i - 1]) for i in range(4)]))
                da = np.linalg.norm(quad - a.centre, axis=1)
                db = np.linalg.norm(quad - b.centre, axis=1)
                ia, ib = int(np.argmin(da)), int(np.argmin(db))
                # a finder centre sits 7.5 modules in from its corner (5-20% of the side)
                if ia == ib or da[ia] > 0.35 * side or db[ib] > 0.35 * side:
                    continue
                if any(np.max(np.abs(o.quad - quad)) < module for o in out):
                    continue
                out.append(Outline(quad, (ia, ib)))
    return out


def hypotheses(outline: Outline) -> list[tuple[F64, tuple[int, int]]]:
    """The outline's corners in symbol order (TL, TR, BR, BL), one array per placement of the
    covered finder, with the symbol corner (0 TL, 1 TR, 3 BL) of each seen finder."""
    q = outline.quad
    ia, ib = outline.seen
    out = []
    if (ib - ia) % 4 == 2:  # the seen finders are TR and BL: TL is one of the two others
        tls = [(ia + 1) % 4, (ia + 3) % 4]
    else:
        first = ia if (ib - ia) % 4 == 1 else ib  # clockwise: first then second
        tls = [first, (first + 1) % 4]  # (first, second) = (TL, TR) or (BL, TL)
    for tl in tls:
        outer = np.array([q[(tl + k) % 4] for k in range(4)])
        out.append((outer, ((ia - tl) % 4, (ib - tl) % 4)))
    return out


def symbol_corners(outer: F64, version: int, seen: list[tuple[int, F64]] | None = None) -> F64:
    """Symbol corners (module 0 and n) from the quiet zone's outer corners (-4 and n + 4),
    fitted together with the centres of the ``seen`` finders (symbol corner index, centre):
    they are found more precisely than the outline's blurred edges."""
    n = tables.size(version)
    lo, hi = -QUIET, n + QUIET
    src: list[list[float]] = [[lo, lo], [hi, lo], [hi, hi], [lo, hi]]
    dst = [list(p) for p in outer]
    for corner, centre in seen or []:
        src.append([[3.5, 3.5], [n - 3.5, 3.5], [n - 3.5, n - 3.5], [3.5, n - 3.5]][corner])
        dst.append(list(centre))
    hm, _ = cv2.findHomography(np.array(src, np.float64), np.array(dst, np.float64), 0)
    if hm is None:
        hm = cv2.getPerspectiveTransform(
            np.array(src[:4], np.float32), outer.astype(np.float32)
        ).astype(np.float64)
    sq = np.array([[0, 0], [n, 0], [n, n], [0, n]], np.float64)
    return cv2.perspectiveTransform(sq[None], hm)[0]


def finder_misfit(outer: F64, version: int, seen: list[tuple[int, F64]]) -> float:
    """How far (in modules) the seen finders' centres are from where the outline alone puts
    them for ``version``: prunes versions cheaply before the fixed-pattern score."""
    n = tables.size(version)
    lo, hi = -QUIET, n + QUIET
    src = np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]], np.float32)
    hm = cv2.getPerspectiveTransform(src, outer.astype(np.float32)).astype(np.float64)
    module = np.mean([np.linalg.norm(outer[i] - outer[i - 1]) for i in range(4)]) / (n + 8)
    centres = [[[3.5, 3.5], [n - 3.5, 3.5], [n - 3.5, n - 3.5], [3.5, n - 3.5]][c] for c, _ in seen]
    pred = cv2.perspectiveTransform(np.array([centres], np.float64), hm)[0]
    seen_at = np.array([p for _, p in seen])
    return float(np.max(np.linalg.norm(pred - seen_at, axis=1)) / module)


MAX_VERSIONS = 5  # versions per outline hypothesis given the fixed-pattern score


def plausible_versions(
    outer: F64, finders: tuple[Finder, Finder], spread: float = 1.7
) -> list[int]:
    """Versions whose module size (outline side / (n + 8)) is within ``spread`` of the seen
    finders' (their detected size is only a rough guide)."""
    side = float(np.mean([np.linalg.norm(outer[i] - outer[i - 1]) for i in range(4)]))
    module = float(np.mean([f.module for f in finders]))
    out = []
    for v in range(tables.MIN_VERSION, tables.MAX_VERSION + 1):
        m = side / (tables.size(v) + 2 * QUIET)
        if module / spread <= m <= module * spread:
            out.append(v)
    return out


def pairs(finders: list[Finder]) -> list[tuple[Finder, Finder]]:
    """Finder pairs of similar size far enough apart to be two corners of one symbol."""
    out = []
    for i, a in enumerate(finders):
        for b in finders[i + 1 :]:
            if max(a.size, b.size) > 1.4 * min(a.size, b.size):
                continue
            if np.linalg.norm(a.centre - b.centre) < 2.5 * max(a.size, b.size):
                continue
            out.append((a, b))
    return out[:MAX_PAIRS]


def candidates(
    img: Gray, finders: list[Finder], budget: Budget
) -> list[tuple[dict[int, F64], tuple[Finder, Finder]]]:
    """For each finder pair with an outline: symbol corners by version, per hypothesis."""
    out = []
    for a, b in pairs(finders):
        budget.check()
        for outer, (ra, rb) in (h for ol in find(img, a, b, budget) for h in hypotheses(ol)):
            seen = [(ra, a.centre), (rb, b.centre)]
            versions = plausible_versions(outer, (a, b))
            versions.sort(key=lambda v: finder_misfit(outer, v, seen))
            by_version = {v: symbol_corners(outer, v, seen) for v in versions[:MAX_VERSIONS]}
            if by_version:
                out.append((by_version, (a, b)))
    return out
