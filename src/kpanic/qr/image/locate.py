"""Find QR symbols without zxing: finder patterns from nested contours.

A finder pattern binarises to a dark square ring around a light ring around a dark core, i.e.
a contour with a child with a child. Three finders of similar size in an L give the symbol;
their 12 outer corners (known in module space once the version is guessed) give a homography.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from kpanic.qr import tables
from kpanic.qr.image.budget import Budget

Gray = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]


@dataclass
class Finder:
    centre: F64
    quad: F64  # 4 outer corners
    size: float  # outer side length in pixels

    @property
    def module(self) -> float:
        return self.size / 7.0


def _quad(contour: npt.NDArray[np.int32]) -> F64 | None:
    peri = cv2.arcLength(contour, True)
    for eps in (0.02, 0.04, 0.06):
        approx = cv2.approxPolyDP(contour, eps * peri, True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            return approx.reshape(4, 2).astype(np.float64)
    rect = cv2.minAreaRect(contour)
    return cv2.boxPoints(rect).astype(np.float64)


CONTOUR_SECONDS_PER_MP = 0.12  # one threshold + findContours pass (see pipeline)
MAX_NESTED = 300  # nested-contour candidates examined per threshold pass (largest first)


CONTOURS_PER_TRANSITION = 1 / 9  # photos and noise alike: about 9 row transitions per contour
SPECKLE_SECONDS = 0.25  # predicted contour cost above which the speckle is removed first
TREE_SECONDS_AT_50K = 0.6  # findContours(RETR_TREE) on 50,000 contours (2-core VM, loaded)


def contour_cost(binary: npt.NDArray[np.generic]) -> float:
    """Predicted seconds of findContours(RETR_TREE) on ``binary``: from its row transitions
    (counted in milliseconds), growing with the square of the contour count (measured: 55k
    contours 0.36 s, 367k contours 37 s)."""
    transitions = np.count_nonzero(binary[:, 1:] != binary[:, :-1])
    est = transitions * CONTOURS_PER_TRANSITION
    return CONTOUR_SECONDS_PER_MP * binary.size / 1e6 + TREE_SECONDS_AT_50K * (est / 5e4) ** 2


def find_finders(
    gray: Gray,
    max_finders: int = 40,
    budget: Budget | None = None,
    max_nested: int = 0,
    block_fracs: tuple[float, ...] = (0.02, 0.05),
) -> list[Finder]:
    """Dark-on-light finder patterns in ``gray`` (invert the image for the inverted theme).

    The nesting and area-ratio tests run vectorised over the whole contour hierarchy; only the
    ``MAX_NESTED`` largest survivors are looked at one by one, so an image tiled with fake
    finder patterns costs the same as a photo.
    """
    h, w = gray.shape
    found: list[Finder] = []
    short = min(h, w)
    max_nested = max_nested or MAX_NESTED
    for block_frac in block_fracs:
        if budget is not None:
            budget.check()
            if found and not budget.affords(CONTOUR_SECONDS_PER_MP * h * w / 1e6):
                break
        block = max(11, int(short * block_frac) | 1)
        binary = cv2.adaptiveThreshold(
            gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 2
        )
        cost = contour_cost(binary)
        if cost > SPECKLE_SECONDS or (budget is not None and not budget.affords(cost)):
            # sensor noise on a flat background binarises to speckle: tens or hundreds of
            # thousands of contours, and the hierarchy costs grow faster than their number;
            # a 3x3 median removes it and keeps finders of 1.5 px modules and up
            binary = cv2.medianBlur(binary, 3)
            if budget is not None and not budget.affords(contour_cost(binary)):
                continue
        contours, hier = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
        if hier is None:
            continue
        hier = hier[0]
        child = hier[:, 2]
        grand = np.where(child >= 0, hier[np.maximum(child, 0), 2], -1)
        idx = np.flatnonzero(grand >= 0)
        if budget is not None:
            budget.check()
        if len(idx) == 0:
            continue
        if len(idx) > 4 * max_nested:  # a tiling of fake finders: keep the longest outlines
            npts = np.fromiter((len(contours[i]) for i in idx), np.int64, len(idx))
            idx = idx[np.argsort(-npts, kind="stable")[: 4 * max_nested]]
        areas = {}
        for i in idx:  # bounded below by the size test: outer area of 49 px or more
            areas[int(i)] = cv2.contourArea(contours[i])
        idx = np.array([i for i in idx if areas[int(i)] >= 49], dtype=np.intp)
        idx = idx[np.argsort([-areas[int(i)] for i in idx], kind="stable")][:max_nested]
        for k, i in enumerate(idx):
            if budget is not None and k % 50 == 49:
                budget.check()
            cnt = contours[i]
            a_out = areas[int(i)]
            a_mid = cv2.contourArea(contours[child[i]])
            a_in = cv2.contourArea(contours[grand[i]])
            if a_mid <= 0 or a_in <= 0:
                continue
            # ideal areas 49 : 25 : 9 (outer edge, light ring's outer edge, core)
            r1, r2 = a_out / a_mid, a_mid / a_in
            if not (1.3 < r1 < 3.5 and 1.5 < r2 < 6.0):
                continue
            quad = _quad(cnt)
            if quad is None:
                continue
            m = cv2.moments(contours[grand[i]])
            if m["m00"] <= 0:
                continue
            centre = np.array([m["m10"] / m["m00"], m["m01"] / m["m00"]])
            side = float(np.sqrt(a_out))
            if _near(found, centre):
                continue
            found.append(Finder(centre, quad, side))
    found.sort(key=lambda f: -f.size)
    return found[:max_finders]


def _near(found: list[Finder], centre: F64) -> bool:
    if not found:
        return False
    cs = np.array([f.centre for f in found])
    sizes = np.array([f.size for f in found])
    return bool(np.any(np.hypot(*(cs - centre).T) < 0.3 * sizes))


@dataclass
class Triple:
    tl: Finder
    tr: Finder
    bl: Finder
    score: float

    def estimated_size(self) -> float:
        mod = np.mean([self.tl.module, self.tr.module, self.bl.module])
        d = 0.5 * (
            np.linalg.norm(self.tr.centre - self.tl.centre)
            + np.linalg.norm(self.bl.centre - self.tl.centre)
        )
        return float(d / mod + 7.0)


def triples(finders: list[Finder], limit: int = 6) -> list[Triple]:
    """L-shaped triples of similar finders, best first (vectorised over all combinations)."""
    if len(finders) < 3:
        return []
    centres = np.array([f.centre for f in finders], np.float64)
    sizes = np.array([f.size for f in finders], np.float64)
    combo = np.array(list(itertools.combinations(range(len(finders)), 3)), np.intp)
    s3 = sizes[combo]
    size_ratio = s3.max(axis=1) / s3.min(axis=1)
    combo, size_ratio = combo[size_ratio <= 1.6], size_ratio[size_ratio <= 1.6]
    out: list[Triple] = []
    rows = []
    for order in ((0, 1, 2), (1, 0, 2), (2, 0, 1)):
        tl, p, q = combo[:, order[0]], combo[:, order[1]], combo[:, order[2]]
        v1, v2 = centres[p] - centres[tl], centres[q] - centres[tl]
        n1, n2 = np.hypot(*v1.T), np.hypot(*v2.T)
        ok = (n1 >= 3 * sizes[tl]) & (n2 >= 3 * sizes[tl])
        cos = np.einsum("ij,ij->i", v1, v2) / np.maximum(n1 * n2, 1e-9)
        ratio = np.maximum(n1, n2) / np.maximum(np.minimum(n1, n2), 1e-9)
        ok &= (np.abs(cos) <= 0.5) & (ratio <= 1.6)
        score = np.abs(cos) + (ratio - 1) + (size_ratio - 1)
        cross = v1[:, 0] * v2[:, 1] - v1[:, 1] * v2[:, 0]
        good = np.flatnonzero(ok)
        good = good[np.argsort(score[good], kind="stable")[:limit]]
        for i in good:
            rows.append((float(score[i]), int(tl[i]), int(p[i]), int(q[i]), bool(cross[i] > 0)))
    rows.sort()
    for score, t, p_, q_, pos in rows[:limit]:
        tr, bl = (p_, q_) if pos else (q_, p_)
        out.append(Triple(finders[t], finders[tr], finders[bl], score))
    return out


def _finder_corners_module(which: str, n: int) -> dict[tuple[int, int], tuple[float, float]]:
    ox, oy = {"tl": (0, 0), "tr": (n - 7, 0), "bl": (0, n - 7)}[which]
    return {
        (sx, sy): (ox + (7 if sx > 0 else 0), oy + (7 if sy > 0 else 0))
        for sx in (-1, 1)
        for sy in (-1, 1)
    }


def corners_for_version(t: Triple, version: int) -> F64 | None:
    """Outer symbol corners (TL, TR, BR, BL) from the finders' 12 corners, for ``version``."""
    n = tables.size(version)
    ex = t.tr.centre - t.tl.centre
    ey = t.bl.centre - t.tl.centre
    basis = np.linalg.inv(np.stack([ex, ey], axis=1))
    src, dst = [], []
    for name, f in (("tl", t.tl), ("tr", t.tr), ("bl", t.bl)):
        table = _finder_corners_module(name, n)
        for p in f.quad:
            rel = basis @ (p - f.centre)
            key = (1 if rel[0] > 0 else -1, 1 if rel[1] > 0 else -1)
            src.append(table[key])
            dst.append(p)
    if len({tuple(s) for s in src}) < 10:
        return None
    h, _ = cv2.findHomography(np.array(src, np.float64), np.array(dst, np.float64), 0)
    if h is None:
        return None
    sq = np.array([[0, 0], [n, 0], [n, n], [0, n]], np.float64)
    return cv2.perspectiveTransform(sq[None], h)[0]


def candidate_versions(t: Triple, spread: int = 2) -> list[int]:
    """Versions near the finder-spacing estimate, nearest first."""
    est = min(40.0, max(1.0, (t.estimated_size() - 17) / 4))
    centre = int(round(est))
    vs = sorted(range(centre - spread, centre + spread + 1), key=lambda v: abs(v - est))
    return [v for v in vs if 1 <= v <= 40]


MAX_PAIRS = 4  # finder pairs tried when no L-shaped triple decodes (a corner covered)


def completed_triples(finders: list[Finder], limit: int = 8) -> list[Triple]:
    """Triples with a third finder put where a covered one must be, from pairs of finders.

    A finger or the bezel over one corner leaves two finders: along an edge (the third is
    square to them, on either side, at either end) or on the diagonal (the third is at the
    right-angle corner, on either side). The assumed finder is the seen one moved there, so
    the usual corner fit applies; the known-module score then says whether it was right.
    """
    out: list[Triple] = []
    pairs = [
        (a, b)
        for i, a in enumerate(finders)
        for b in finders[i + 1 :]
        if max(a.size, b.size) < 1.3 * min(a.size, b.size)
        and np.linalg.norm(a.centre - b.centre) > 3 * max(a.size, b.size)
    ][:MAX_PAIRS]
    for a, b in pairs:
        d = b.centre - a.centre
        perp = np.array([-d[1], d[0]])
        guesses = [a.centre + perp, a.centre - perp, b.centre + perp, b.centre - perp]
        mid, half = (a.centre + b.centre) / 2, perp / 2
        guesses += [mid + half, mid - half]
        for g in guesses:
            src = a if np.linalg.norm(g - a.centre) < np.linalg.norm(g - b.centre) else b
            shift = g - src.centre
            ghost = Finder(g, src.quad + shift, src.size)
            out += triples([a, b, ghost], limit=1)
    return out[:limit] if len(out) > limit else out
