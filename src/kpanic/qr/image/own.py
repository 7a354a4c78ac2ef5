"""Stage 2: read a located symbol ourselves (refined grid, soft values, erasure RS).

Several sampling variants of the same symbol are pooled per RS block: a block only has to
decode in one of them. The variants are ordered by how often they won on the dev photos.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from kpanic.errors import QRError
from kpanic.qr import tables
from kpanic.qr.image import sampler
from kpanic.qr.image.budget import Budget
from kpanic.qr.image.check import payload_checks
from kpanic.qr.image.grid import Grid, initial_grid, refine
from kpanic.qr.image.softrs import SymbolState, data_bytes, decode_blocks

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

# (pre-blur in modules, sample spread in modules, equaliser radius, decision rounds)
VARIANTS: tuple[tuple[float, float, int, int], ...] = (
    (0.0, 0.2, 2, 1),
    (0.0, 0.35, 1, 1),
    (0.25, 0.2, 2, 1),
    (0.0, 0.2, 2, 2),
    (0.4, 0.2, 2, 1),
)
MIN_KNOWN_SCORE = 0.3  # fixed-pattern agreement below this: not a symbol of that version
SAFE_MARGIN = 8  # blocks corrected with fewer spare check symbols need the zlib check


@dataclass
class OwnResult:
    payload: str
    version: int
    corrected: int
    erasures: int


@dataclass
class OwnFailure:
    reason: str  # "too-damaged" or "checksum-failed"
    message: str


def module_px(grid: Grid) -> float:
    c = grid.to_image(
        np.array([0.0, grid.n, grid.n, 0.0]), np.array([0.0, 0.0, float(grid.n), float(grid.n)])
    )
    pts = np.stack(c, axis=1)
    return float(np.mean([np.linalg.norm(pts[i] - pts[(i + 1) % 4]) for i in range(4)]) / grid.n)


def known_score(img: F32, grid: Grid, version: int) -> float:
    """Agreement of the sampled known modules with their expected values (-1..1)."""
    values = sampler.normalise(sampler.sample_modules(img, grid, scale=3))
    target, known = sampler.known_modules(version)
    v = np.clip(values[known], -3, 3)
    return float(np.mean(v * target[known]) / (np.mean(np.abs(v)) + 1e-9))


@dataclass
class Located:
    """A symbol whose grid was fitted in one frame (kept for pooling a burst of frames)."""

    img: F32
    grid: Grid
    version: int
    score: float  # known-module agreement
    frame: int = 0  # which frame of a burst
    inverted: bool = False


Variant = tuple[float, float, int, int]


def variant_values(
    img: F32,
    grid: Grid,
    version: int,
    variant: Variant,
    blurred: dict[float, F32],
    mask: int | None,
) -> tuple[F64, int]:
    """Equalised soft module values (> 0 dark) of one sampling variant, and the mask."""
    blur, spread, radius, rounds = variant
    if blur not in blurred:
        blurred[blur] = np.asarray(
            cv2.GaussianBlur(img, (0, 0), max(0.3, blur * module_px(grid))), np.float32
        )
    z = sampler.normalise(sampler.sample_modules(blurred[blur], grid, spread=spread))
    if mask is None:
        mask = sampler.read_mask(z, version)
    return sampler.symbol_values(sampler.equalise(z, version, radius, rounds, mask)), mask


def decode_values(
    version: int, values: Iterator[tuple[F64, int]], budget: Budget
) -> OwnResult | OwnFailure:
    """Pool module-value variants per RS block until every block decodes, then check."""
    state = SymbolState(version)
    last_error = ""
    for vals, mask in values:
        tries = 8 if budget.left() > 0.5 else 4
        decode_blocks(state, vals, max_tries=tries, mask=mask, budget=budget)
        if not state.done():
            continue
        data = data_bytes(state)
        try:
            text, zlib_verified = payload_checks(data, version)
        except QRError as exc:
            last_error = str(exc)
            state = SymbolState(version)  # a wrong block may be pooled in: start over
            continue
        layout_ = tables.block_layout(version)
        margins = [b.margin(layout_[i][1]) for i, b in enumerate(state.blocks) if b]
        if not zlib_verified and min(margins) < SAFE_MARGIN:
            last_error = "the corrected data did not pass the zlib check"
            state = SymbolState(version)
            continue
        return OwnResult(
            text,
            version,
            sum(b.errata - b.erasures for b in state.blocks if b),
            sum(b.erasures for b in state.blocks if b),
        )
    if last_error:
        return OwnFailure("checksum-failed", f"version-{version} symbol: {last_error}")
    return OwnFailure(
        "too-damaged",
        f"version-{version} symbol found, {state.missing()} of {len(state.blocks)} "
        "Reed-Solomon blocks have too many errors",
    )


def decode_grid(img: F32, grid: Grid, version: int, budget: Budget) -> OwnResult | OwnFailure:
    """Pool the sampling variants over one refined grid until every block decodes."""
    blurred: dict[float, F32] = {0.0: img}

    def values() -> Iterator[tuple[F64, int]]:
        mask: int | None = None
        for variant in VARIANTS:
            if budget.expired():
                return
            vals, mask = variant_values(img, grid, version, variant, blurred, mask)
            yield vals, mask

    return decode_values(version, values(), budget)


def prepare(gray: npt.NDArray[np.uint8], inverted: bool) -> F32:
    img = gray.astype(np.float32)
    return 255.0 - img if inverted else img


def decode_corners(
    img: F32,
    corners: npt.NDArray[np.float64],
    version: int,
    budget: Budget,
    located: list[Located] | None = None,
    inverted: bool = False,
) -> OwnResult | OwnFailure:
    """Refine the grid from ``corners`` and decode; a fitted grid is added to ``located``."""
    budget.check()
    grid = refine(img, initial_grid(corners, version), budget=budget)
    score = known_score(img, grid, version)
    if located is not None and score >= MIN_KNOWN_SCORE:
        located.append(Located(img, grid, version, score, inverted=inverted))
    if score < MIN_KNOWN_SCORE:
        return OwnFailure(
            "too-damaged",
            f"the located version-{version} symbol's fixed patterns do not match "
            f"(agreement {score:.2f})",
        )
    return decode_grid(img, grid, version, budget)


def best_version(
    img: F32, corners_by_version: dict[int, npt.NDArray[np.float64]], budget: Budget
) -> list[tuple[float, int]]:
    """Candidate versions scored by known-module agreement, best first.

    Scored on the corner fit alone (the decode refines the grid anyway): refining every
    hypothesis first cost 20-40 ms each, and a covered corner gives many hypotheses."""
    scored = []
    for v, corners in corners_by_version.items():
        budget.check()
        scored.append((known_score(img, initial_grid(corners, v), v), v))
    scored.sort(reverse=True)
    return scored


def check_version(version: int) -> bool:
    return tables.MIN_VERSION <= version <= tables.MAX_VERSION
