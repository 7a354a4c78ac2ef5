"""A burst of frames of one screen: soft module decisions pooled before Reed-Solomon.

Each frame's symbol is located and its grid fitted on its own (perspective, lens, hand shake
differ from frame to frame), so the frames line up in module space whatever moved. Each
frame's equalised module values (> 0 dark, size = confidence) are weighted by how well its
known modules agree and summed: independent noise, blur and glare average out, a module lost
under glare in one frame is read in the others, and the summed confidence makes the
erasures better. A burst of noisy frames reads where no single frame does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from kpanic.qr.image.budget import Budget
from kpanic.qr.image.candidates import Candidate
from kpanic.qr.image.grid import initial_grid, refine
from kpanic.qr.image.own import (
    MIN_KNOWN_SCORE,
    VARIANTS,
    Located,
    OwnFailure,
    OwnResult,
    decode_values,
    known_score,
    prepare,
    variant_values,
)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

MAX_FRAMES = 8  # frames pooled (best known-module agreement first)


def frames_for_pooling(located: list[Located]) -> list[Located]:
    """The best-fitted grid of each frame, for the version most frames agree on."""
    if not located:
        return []
    votes = Counter(loc.version for loc in located)
    version = max(votes, key=lambda v: (votes[v], max(x.score for x in located if x.version == v)))
    best: dict[int, Located] = {}
    for loc in located:
        if loc.version != version:
            continue
        if loc.frame not in best or loc.score > best[loc.frame].score:
            best[loc.frame] = loc
    return sorted(best.values(), key=lambda x: -x.score)[:MAX_FRAMES]


def align(
    located: list[Located],
    grays: list[npt.NDArray[np.uint8]],
    cands: dict[int, list[Candidate]],
    budget: Budget,
) -> list[Located]:
    """A fitted grid for every frame: the best-fitted frame's grid is the reference; a frame
    without one of its own is fitted from its own located symbol of that version, else from
    the reference's corners (the phone moves little within a burst), refined on the finder
    and alignment patterns, and kept when its fixed patterns agree."""
    have = frames_for_pooling(located)
    if not have:
        return []
    ref = have[0]
    done = {f.frame for f in have}
    n = ref.grid.n
    sq = np.array([0.0, n, n, 0.0]), np.array([0.0, 0.0, n, n])
    ref_corners = np.stack(ref.grid.to_image(*sq), axis=1)
    out = list(have)
    for i, gray in enumerate(grays):
        if i in done or len(out) >= MAX_FRAMES:
            continue
        budget.check()
        img = prepare(gray, ref.inverted)
        starts = [c.corners for c in cands.get(i, []) if c.version == ref.version][:1]
        best: Located | None = None
        for corners in [*starts, ref_corners]:
            grid = refine(img, initial_grid(corners, ref.version), budget=budget)
            score = known_score(img, grid, ref.version)
            if score >= MIN_KNOWN_SCORE and (best is None or score > best.score):
                best = Located(img, grid, ref.version, score, i, ref.inverted)
            if best is not None and best.score > 0.8:
                break
        if best is not None:
            out.append(best)
    return sorted(out, key=lambda x: -x.score)


def pool(
    located: list[Located],
    grays: list[npt.NDArray[np.uint8]],
    cands: dict[int, list[Candidate]],
    budget: Budget,
) -> OwnResult | OwnFailure | None:
    """Decode the symbol from the frames' pooled module values; None if fewer than two
    frames could be fitted on the symbol's grid."""
    frames = align(located, grays, cands, budget)
    if len(frames) < 2:
        return None
    version = frames[0].version
    caches: list[dict[float, F32]] = [{0.0: f.img} for f in frames]
    masks: list[int | None] = [None] * len(frames)

    def values() -> Iterator[tuple[F64, int]]:
        for variant in VARIANTS:
            total: F64 | None = None
            weight = 0.0
            for i, f in enumerate(frames):
                if budget.expired():
                    return
                vals, masks[i] = variant_values(
                    f.img, f.grid, version, variant, caches[i], masks[i]
                )
                w = f.score**2
                total = vals * w if total is None else total + vals * w
                weight += w
            if total is None:
                return
            # drm_panic draws mask 0; the frames vote on the mask otherwise
            mask = Counter(m for m in masks if m is not None).most_common(1)[0][0]
            yield total / weight, mask

    return decode_values(version, values(), budget)
