"""``decode_photo``: the stages in order, within a time budget kept inside every stage.

1. zxing-cpp on cheap image variants (reads most photos in tens of milliseconds); every call
   is costed first (image size, finder-like runs) and tiled or skipped when unaffordable.
2. Symbols zxing located but could not read: our own grid sampler with soft-decision RS.
3. Nothing located: our own finder-pattern search, version guessed from finder spacing and
   confirmed by the known modules, then the same sampler.

Only a panic-shaped payload (a drm_panic URL or a kernel log, see ``kind``) is returned;
another code in view (asset tag, Wi-Fi) is reported as ``foreign-code`` with what it holds.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from kpanic.errors import PhotoDecodeError
from kpanic.qr.image import burst, diagnose, locate, outline, own, zxing_stage
from kpanic.qr.image.budget import Budget, OutOfTime
from kpanic.qr.image.candidates import Candidate
from kpanic.qr.image.kind import classify, describe_foreign
from kpanic.qr.image.loading import load
from kpanic.qr.image.result import PhotoResult

FINDER_LONG_SIDE = 4100  # finder search image size cap (long side); small modules need full res
MAX_TRIPLES = 3  # finder triples tried per polarity
MAX_DECODES = 8  # located symbols (best known-module agreement first) given a full decode
# One contour pass costs about 0.1 s per megapixel (threshold + findContours, 2-core VM, on
# photos and on fake-finder tilings alike): the search image is shrunk to what the budget
# still affords for both passes and both polarities.
CONTOUR_SECONDS_PER_MP = 0.12


def _finder_candidates(
    gray: np.ndarray, polarities: list[bool], tried: list[Candidate], budget: Budget
) -> list[tuple[Candidate, dict[int, np.ndarray]]]:
    h, w = gray.shape
    scale = min(1.0, FINDER_LONG_SIDE / max(h, w))
    passes = 2 * len(polarities)
    affordable_mp = max(0.0, budget.left()) / (passes * CONTOUR_SECONDS_PER_MP)
    if affordable_mp * 1e6 < h * w * scale * scale:
        scale = float(np.sqrt(affordable_mp * 1e6 / (h * w)))
    if min(h, w) * scale < 64:
        return []
    small = (
        gray
        if scale == 1.0
        else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    )
    out: list[tuple[Candidate, dict[int, np.ndarray]]] = []
    for inverted in polarities:
        budget.check()
        img = cv2.bitwise_not(small) if inverted else small
        finders = locate.find_finders(img, budget=budget)
        budget.check()
        found = locate.triples(finders, limit=MAX_TRIPLES)
        # a covered corner: two finders and the code's bright outline (drm_panic's quiet
        # zone); pairs without an outline are completed with an assumed third finder
        covered = outline.candidates(np.asarray(img, np.uint8), finders, budget)
        for by_version, _pair in covered:
            scaled = {v: c / scale for v, c in by_version.items()}
            cand = Candidate(next(iter(scaled.values())), None, inverted, "outline")
            if not any(cand.same_place(o) and o.inverted == inverted for o in tried):
                out.append((cand, scaled))
        if not covered:
            found += locate.completed_triples(finders)
        for t in found:
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


class _Search:
    """What one decode has seen so far: foreign codes read, symbols that failed."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.foreign: list[str] = []
        self.failures: list[own.OwnFailure] = []
        self.located: list[own.Located] = []  # fitted grids, for pooling a burst
        self.cands: dict[int, list[Candidate]] = {}  # located symbols per frame
        self.last_cands: list[Candidate] = []

    def take(self, payload: str) -> bool:
        """True when ``payload`` is the panic; a foreign one is remembered."""
        if classify(payload) != "foreign":
            return True
        if payload not in self.foreign:
            self.foreign.append(payload)
        return False


def _own_stages(
    gray: np.ndarray, cands: list[Candidate], search: _Search
) -> tuple[own.OwnResult, str] | None:
    budget = search.budget
    prepared: dict[bool, np.ndarray] = {}

    def prepare(inverted: bool) -> np.ndarray:
        if inverted not in prepared:
            prepared[inverted] = own.prepare(gray, inverted)
        return prepared[inverted]

    for cand in cands:
        budget.check()
        if cand.version is None:
            continue
        if cand.side() < 1.5 * (17 + 4 * cand.version):  # under 1.5 px per module
            continue
        img = prepare(bool(cand.inverted))
        res = own.decode_corners(
            img, cand.corners, cand.version, budget, search.located, bool(cand.inverted)
        )
        if isinstance(res, own.OwnResult):
            if search.take(res.payload):
                return res, "grid-soft-rs"
            continue
        search.failures.append(res)

    pols = [False, True]
    if cands and cands[0].inverted:
        pols = [True, False]
    # score every located symbol's versions first (cheap), then decode the best-scoring ones:
    # a completed pair gives several hypotheses, only one of them right
    ranked: list[tuple[float, int, Candidate, np.ndarray]] = []
    for cand, by_version in _finder_candidates(gray, pols, cands, budget):
        budget.check()
        img = prepare(bool(cand.inverted))
        for score, version in own.best_version(img, by_version, budget)[:2]:
            if score >= 0.2:
                ranked.append((score, version, cand, by_version[version]))
        cands.append(cand)
    ranked.sort(key=lambda r: -r[0])
    for _score, version, cand, corners in ranked[:MAX_DECODES]:
        budget.check()
        res = own.decode_corners(
            prepare(bool(cand.inverted)),
            corners,
            version,
            budget,
            search.located,
            bool(cand.inverted),
        )
        if isinstance(res, own.OwnResult):
            if search.take(res.payload):
                return res, "finders-grid-soft-rs"
            continue
        search.failures.append(res)
    return None


def decode_photo(
    source: str | os.PathLike[str] | bytes, *, time_budget: float = 3.0
) -> PhotoResult:
    """Read the drm_panic QR code in a photo (path or bytes) and return its exact payload.

    Raises PhotoDecodeError with reason "not-an-image", "too-large", "no-code-found",
    "too-damaged" (a symbol was found but its modules cannot be corrected),
    "checksum-failed" (corrected data failed the payload checks) or "foreign-code" (only QR
    codes that are not a kernel panic were read; ``exc.foreign`` holds their text).

    An animation (GIF, WebP) is read frame by frame and then as a burst (see
    ``decode_burst``). ``time_budget`` bounds the whole decode, loading included: every stage
    checks it, so a miss costs at most the budget plus one short step (about 10%).
    """
    total = Budget(time_budget)
    # the decode proper gets 90%; the advice on a miss (fixed cost, never budget-dependent)
    # and the last step's overrun fit in the rest
    budget = Budget(0.9 * total.seconds)
    loaded = load(source)
    return _decode_frames(loaded.frames, list(loaded.notes), budget)


def decode_burst(
    sources: list[str | os.PathLike[str] | bytes], *, time_budget: float = 3.0
) -> PhotoResult:
    """Read the panic from several photos of one screen (a burst from the phone's camera).

    Each frame is tried alone first; when none reads, every frame's symbol is located and
    fitted on its own grid and the soft module values are pooled across frames before
    Reed-Solomon (``burst.pool``), which reads bursts of noisy frames no single frame gives.
    The budget covers the whole burst, loading included. Raises PhotoDecodeError as
    ``decode_photo`` does ("not-an-image" when no source is an image).
    """
    total = Budget(time_budget)
    budget = Budget(0.9 * total.seconds)
    frames: list[np.ndarray] = []
    notes: list[str] = []
    errors: list[PhotoDecodeError] = []
    for src in sources:
        try:
            loaded = load(src)
        except PhotoDecodeError as exc:
            errors.append(exc)
            continue
        frames += loaded.frames
        notes += loaded.notes
    if not frames:
        raise errors[0] if errors else PhotoDecodeError("not-an-image", "no photos given")
    if errors:
        notes.append(f"{len(errors)} of {len(sources)} files were not images")
    return _decode_frames(frames, notes, budget)


POOL_SHARE = 0.6  # of a burst's budget kept for pooling the frames


def _decode_frames(frames: list[np.ndarray], notes: list[str], budget: Budget) -> PhotoResult:
    search = _Search(budget)
    located = False
    several = len(frames) > 1
    single = Budget(budget.left() * (1 - POOL_SHARE)) if several else budget
    for i, gray in enumerate(frames):
        if i and single.expired():
            break
        # later frames share what is left; the first frame of a still image gets it all
        share = Budget(single.left() / (len(frames) - i)) if several else single
        start = len(search.located)
        found = _decode_frame(gray, share, search)
        for loc in search.located[start:]:
            loc.frame = i
        search.cands[i] = list(search.last_cands)
        if isinstance(found, PhotoResult):
            found.elapsed = budget.elapsed()
            found.notes = list(notes)
            if several:
                found.notes.append(f"read from frame {i + 1} of {len(frames)}")
            return found
        located |= found
    if several:
        search.budget = budget
        try:
            pooled = burst.pool(search.located, frames, search.cands, budget)
        except OutOfTime:
            pooled = None
        if isinstance(pooled, own.OwnResult) and search.take(pooled.payload):
            used = len(burst.frames_for_pooling(search.located)) or 2
            return PhotoResult(
                pooled.payload,
                pooled.version,
                "burst-pooled",
                budget.elapsed(),
                pooled.corrected,
                pooled.erasures,
                [*notes, f"pooled the module values of {used} of {len(frames)} frames"],
            )
        if isinstance(pooled, own.OwnFailure):
            search.failures.append(pooled)
    err = _failure(search, located)
    if err.reason in ("no-code-found", "too-damaged"):
        notes += diagnose.advice(frames[0])
    if notes:
        err = _with_notes(err, notes)
    raise err


def _decode_frame(gray: np.ndarray, budget: Budget, search: _Search) -> PhotoResult | bool:
    """The panic read from one frame, or whether a symbol was located in it."""
    search.budget = budget
    zx = zxing_stage.run(gray, budget, accept=lambda h: search.take(h.payload))
    for hit in zx.hits:
        if classify(hit.payload) != "foreign":
            return PhotoResult(hit.payload, hit.version, hit.method, budget.elapsed())
    cands = sorted(zx.cands, key=lambda c: -c.side())
    search.last_cands = cands
    try:
        found = _own_stages(gray, cands, search)
    except OutOfTime:
        found = None
    if found is not None:
        res, method = found
        return PhotoResult(
            res.payload, res.version, method, budget.elapsed(), res.corrected, res.erasures
        )
    return bool(cands)


def _with_notes(err: PhotoDecodeError, notes: list[str]) -> PhotoDecodeError:
    out = PhotoDecodeError(err.reason, f"{err}. {'. '.join(n[0].upper() + n[1:] for n in notes)}.")
    out.foreign = err.foreign
    return out


def _failure(search: _Search, located: bool) -> PhotoDecodeError:
    failures = search.failures
    if search.foreign:
        what = "; ".join(describe_foreign(p) for p in search.foreign[:3])
        err = PhotoDecodeError(
            "foreign-code",
            f"read {what}, but no drm_panic QR code (a panic URL or a kernel log)",
        )
        err.foreign = list(search.foreign)
        return err
    bad = [f for f in failures if f.reason == "checksum-failed"]
    if bad:
        return PhotoDecodeError("checksum-failed", bad[0].message)
    if failures:
        return PhotoDecodeError("too-damaged", failures[0].message)
    if located:
        return PhotoDecodeError("too-damaged", "found a QR code but could not sample its grid")
    return PhotoDecodeError("no-code-found", "no QR code found in the image")
