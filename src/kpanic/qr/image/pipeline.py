"""``decode_photo``: the stages in order, within a time budget.

1. zxing-cpp on cheap image variants (reads most photos in tens of milliseconds).
2. Symbols zxing located but could not read: our own grid sampler with soft-decision RS.
3. Nothing located: our own finder-pattern search, version guessed from finder spacing and
   confirmed by the known modules, then the same sampler.
"""

from __future__ import annotations

import os
import time

import cv2
import numpy as np

from kpanic.errors import PhotoDecodeError
from kpanic.qr.image import locate, own, zxing_stage
from kpanic.qr.image.candidates import Candidate
from kpanic.qr.image.loading import load_gray
from kpanic.qr.image.result import PhotoResult

FINDER_LONG_SIDE = 4100  # finder search image size cap (long side); small modules need full res


def _result(res: own.OwnResult, method: str, t0: float) -> PhotoResult:
    return PhotoResult(
        res.payload, res.version, method, time.monotonic() - t0, res.corrected, res.erasures
    )


def _finder_candidates(
    gray: np.ndarray, polarities: list[bool], tried: list[Candidate], deadline: float
) -> list[tuple[Candidate, dict[int, np.ndarray]]]:
    h, w = gray.shape
    scale = min(1.0, FINDER_LONG_SIDE / max(h, w))
    small = (
        gray
        if scale == 1.0
        else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    )
    out: list[tuple[Candidate, dict[int, np.ndarray]]] = []
    for inverted in polarities:
        if time.monotonic() > deadline:
            break
        img = cv2.bitwise_not(small) if inverted else small
        for t in locate.triples(locate.find_finders(img), limit=3):
            by_version = {}
            for v in locate.candidate_versions(t):
                c = locate.corners_for_version(t, v)
                if c is not None:
                    by_version[v] = c / scale
            if not by_version:
                continue
            any_corners = next(iter(by_version.values()))
            cand = Candidate(any_corners, None, inverted, "finders")
            if any(cand.same_place(o) and o.inverted == inverted for o in tried):
                continue
            out.append((cand, by_version))
    return out


def decode_photo(
    source: str | os.PathLike[str] | bytes, *, time_budget: float = 3.0
) -> PhotoResult:
    """Read the drm_panic QR code in a photo (path or bytes) and return its exact payload.

    Raises PhotoDecodeError with reason "not-an-image", "too-large", "no-code-found",
    "too-damaged" (a symbol was found but its modules cannot be corrected) or
    "checksum-failed" (corrected data failed the payload checks).
    """
    t0 = time.monotonic()
    deadline = t0 + max(0.05, time_budget)
    gray = load_gray(source)
    hit, cands = zxing_stage.run(gray, deadline)
    if hit is not None:
        return PhotoResult(hit.payload, hit.version, hit.method, time.monotonic() - t0)

    failures: list[own.OwnFailure] = []
    cands.sort(key=lambda c: -c.side())
    for cand in cands:
        if time.monotonic() > deadline or cand.version is None:
            continue
        if cand.side() < 1.5 * (17 + 4 * cand.version):  # under 1.5 px per module
            continue
        img = own.prepare(gray, bool(cand.inverted))
        res = own.decode_corners(img, cand.corners, cand.version, deadline)
        if isinstance(res, own.OwnResult):
            return _result(res, "grid-soft-rs", t0)
        failures.append(res)

    if time.monotonic() < deadline:
        pols = [False, True]
        if cands and cands[0].inverted:
            pols = [True, False]
        for cand, by_version in _finder_candidates(gray, pols, cands, deadline):
            if time.monotonic() > deadline:
                break
            img = own.prepare(gray, bool(cand.inverted))
            ranked = own.best_version(img, by_version)
            for score, version in ranked[:2]:
                if score < 0.2 or time.monotonic() > deadline:
                    continue
                res = own.decode_corners(img, by_version[version], version, deadline)
                if isinstance(res, own.OwnResult):
                    return _result(res, "finders-grid-soft-rs", t0)
                failures.append(res)
            cands.append(cand)

    if any(f.reason == "checksum-failed" for f in failures):
        f = next(f for f in failures if f.reason == "checksum-failed")
        raise PhotoDecodeError("checksum-failed", f.message)
    if failures:
        raise PhotoDecodeError("too-damaged", failures[0].message)
    if cands:
        raise PhotoDecodeError("too-damaged", "found a QR code but could not sample its grid")
    if time.monotonic() > deadline:
        raise PhotoDecodeError(
            "no-code-found", f"no QR code found within the {time_budget:.1f} s time budget"
        )
    raise PhotoDecodeError("no-code-found", "no QR code found in the image")
