"""Soft module values: sample every module centre, normalise light, equalise blur.

Blur and defocus spread each module into its neighbours (inter-symbol interference), and
screen moire and glare make the light and dark levels wander. We sample module centres on the
refined grid, normalise by a local mean/spread, then learn a small linear equaliser (a 3x3 or
5x5 neighbourhood filter) by least squares on the modules we know: finder, timing, alignment,
format and version modules and the quiet zone; then once more on our own hard decisions.
The output is a signed value per module: > 0 means dark, its size is the confidence.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from kpanic.qr import layout, tables
from kpanic.qr.image.grid import Grid, rectify
from kpanic.qr.image.symbol import read_format

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
MARGIN = 3


@lru_cache(maxsize=64)
def known_modules(
    version: int, mask: int = 0
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """(+1 dark / -1 light, known mask) over the symbol plus MARGIN modules of quiet zone.

    The format bits are those of level L with ``mask`` (drm_panic always draws mask 0).
    """
    n = tables.size(version)
    value, reserved = layout.function_modules(version)
    val = value.astype(np.int8).copy()
    fmt = tables.format_word(mask)
    first, second = layout.format_positions(version)
    for positions in (first, second):
        for i, p in enumerate(positions):
            val[p] = (fmt >> (14 - i)) & 1
    if version >= 7:
        word = tables.version_word(version)
        for positions in layout.version_positions(version):
            for i, p in enumerate(positions):
                val[p] = (word >> i) & 1
    full = np.zeros((n + 2 * MARGIN, n + 2 * MARGIN), np.int8)  # quiet zone is light
    known = np.ones_like(full, dtype=np.bool_)
    full[MARGIN:-MARGIN, MARGIN:-MARGIN] = val
    known[MARGIN:-MARGIN, MARGIN:-MARGIN] = reserved
    signed = (2 * full.astype(np.int8) - 1).astype(np.int8)
    signed.setflags(write=False)
    known.setflags(write=False)
    return signed, known


def sample_modules(gray: F32, grid: Grid, scale: int = 5, spread: float = 0.3) -> F64:
    """Mean luminance around each module centre (Gaussian weight, ``spread`` modules)."""
    rect = rectify(gray, grid, scale, MARGIN)
    k = np.exp(-0.5 * ((np.arange(scale) + 0.5 - scale / 2) / (spread * scale)) ** 2)
    k = (k / k.sum()).astype(np.float32)
    m = rect.shape[0] // scale
    blocks = rect[: m * scale, : m * scale].reshape(m, scale, m, scale)
    return np.einsum("aibj,i,j->ab", blocks, k, k).astype(np.float64)


def normalise(samples: F64, window: int = 11) -> F64:
    """Dark-positive values relative to the local mean, divided by the local spread."""
    s = samples.astype(np.float32)
    mean = cv2.blur(s, (window, window), borderType=cv2.BORDER_REFLECT)
    sq = cv2.blur(s * s, (window, window), borderType=cv2.BORDER_REFLECT)
    std = np.sqrt(np.maximum(sq - mean * mean, 1e-6))
    std = np.maximum(std, 0.2 * float(np.median(std)) + 1e-3)
    return ((mean - s) / std).astype(np.float64)


def _features(z: F64, radius: int) -> F64:
    pad = np.pad(z, radius, mode="edge")
    h, w = z.shape
    cols = [
        pad[radius + dy : radius + dy + h, radius + dx : radius + dx + w]
        for dy in range(-radius, radius + 1)
        for dx in range(-radius, radius + 1)
    ]
    cols.append(np.ones_like(z))
    return np.stack(cols, axis=-1)


def equalise(z: F64, version: int, radius: int = 1, rounds: int = 1, mask: int = 0) -> F64:
    """Least-squares neighbourhood equaliser trained on known modules, then on decisions."""
    target, known = known_modules(version, mask)
    feats = _features(z, radius)
    x = feats[known]
    y = target[known].astype(np.float64)
    w, *_ = np.linalg.lstsq(x, y, rcond=None)
    out = feats @ w
    for _ in range(rounds):
        sym = np.zeros_like(known)
        sym[MARGIN:-MARGIN, MARGIN:-MARGIN] = True
        t = np.where(known, target, np.sign(out)).astype(np.float64)
        x = feats[sym]
        w, *_ = np.linalg.lstsq(x, t[sym], rcond=None)
        out = feats @ w
    return out


def read_mask(values: F64, version: int) -> int:
    """The data mask from the sampled format information; 0 (drm_panic's) if unreadable."""
    first, second = layout.format_positions(version)
    sym = symbol_values(values)
    bits = [[int(sym[p] > 0) for p in copy] for copy in (first, second)]
    ec, mask, dist = read_format(bits[0], bits[1])
    return mask if dist <= 3 and ec == tables.EC_LEVEL_BITS_L else 0


def symbol_values(values: F64) -> F64:
    """Strip the quiet-zone margin."""
    return values[MARGIN:-MARGIN, MARGIN:-MARGIN]
