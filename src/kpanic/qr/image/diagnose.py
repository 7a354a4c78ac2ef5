"""Why no code was read, and what to do: computed from the image alone, never from timing.

The advice must be the same on every run and every machine, so it is taken on a fixed-size
copy of the image (long side ``SIDE`` px) with fixed thresholds, whatever the budget did.
Each rule is data: the measurement, the threshold, the reason for it, and the advice.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from kpanic.qr.image import density, locate

SIDE = 640  # fixed: the same findings on every run, about 50 ms
RUN_BIAS = 1.15  # 1:1:3:1:1 run units overestimate the module (dev photos: median 1.15x)
Gray = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Findings:
    clipped: float  # share of pixels at the sensor's ceiling
    dark: float  # share of pixels near black
    sharpness: float  # 90th percentile gradient magnitude relative to the contrast
    blur_direction: float  # 0 = isotropic, 1 = all edges along one direction (motion)
    finders: int  # finder patterns seen (in either polarity)
    module_px: float | None  # pixels per module of the finders seen, in the original image
    contrast: float  # 5..95 percentile spread


# (name, test, why, advice). The first rules that match are reported, in this order.
ADVICE: tuple[tuple[str, str, str], ...] = (
    (
        "overexposed",
        "more than 20% of pixels at the ceiling: glare or an overexposed screen wipes modules",
        "the screen is overexposed: tap the screen on the phone to expose for it, or tilt "
        "the phone to move the glare off the code",
    ),
    (
        "corner-covered",
        "exactly two finder patterns of one size: the third corner is hidden",
        "one corner of the code seems covered (a finger or the bezel): keep all three "
        "corner squares in view",
    ),
    (
        "too-far",
        "under 3.5 px per module: modules blur into each other after JPEG",
        "the code is small in the picture (about {px:.0f} pixels per module): move closer, "
        "or zoom in, so it fills most of the picture",
    ),
    (
        "motion-blur",
        "edges much weaker in one direction than the other: the phone moved",
        "the picture is blurred by movement: hold the phone still (rest it on something) "
        "and take the picture again",
    ),
    (
        "out-of-focus",
        "weak edges in every direction",
        "the picture is out of focus: tap the code on the phone's screen to focus on it",
    ),
    (
        "low-contrast",
        "little difference between light and dark",
        "the code has little contrast: turn off the room light that reflects in the screen",
    ),
)


def measure(gray: Gray) -> Findings:
    h, w = gray.shape
    scale = min(1.0, SIDE / max(h, w))
    if scale < 1.0:
        step = max(1, int(0.5 / scale))  # subsample first: INTER_AREA on 50 MP is slow
        coarse = gray[::step, ::step]
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(coarse, size, interpolation=cv2.INTER_AREA)
    else:
        small = gray
    hist = np.bincount(small.ravel(), minlength=256).astype(np.float64) / small.size
    clipped = float(hist[250:].sum())
    dark = float(hist[:6].sum())
    cdf = np.cumsum(hist)
    p5, p95 = int(np.searchsorted(cdf, 0.05)), int(np.searchsorted(cdf, 0.95))
    contrast = float(max(1, p95 - p5))
    f = small.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    flat = mag.ravel()
    n = flat.size
    p99, p90 = np.partition(flat, [int(0.9 * n), int(0.99 * n)])[[int(0.99 * n), int(0.9 * n)]]
    sharp = float(p99) / (4 * contrast)
    # structure tensor over strong edges: how one-directional are the gradients
    strong = mag > p90
    jxx, jyy, jxy = (float(np.sum(a[strong])) for a in (gx * gx, gy * gy, gx * gy))
    tr = jxx + jyy + 1e-9
    aniso = float(np.sqrt((jxx - jyy) ** 2 + 4 * jxy * jxy) / tr)
    finders = max(
        len(
            _same_size(locate.find_finders(img, max_finders=12, max_nested=40, block_fracs=(0.05,)))
        )
        for img in (small, cv2.bitwise_not(small))
    )
    est = density.module_estimate(gray)
    module = None if est is None else est / RUN_BIAS
    return Findings(clipped, dark, sharp, aniso, finders, module, contrast)


def _same_size(finders: list[locate.Finder]) -> list[locate.Finder]:
    """The largest group of finders within 30% of each other's size (one symbol's)."""
    best: list[locate.Finder] = []
    for f in finders:
        group = [g for g in finders if 0.77 < g.size / f.size < 1.3]
        if len(group) > len(best):
            best = group
    return best


def _pair_of_same_size(f: Findings) -> bool:
    return f.finders == 2


def advice(gray: Gray) -> list[str]:
    """What to do, most useful first (may be empty when nothing stands out)."""
    f = measure(gray)
    out: list[str] = []
    texts = {name: text for name, _why, text in ADVICE}
    if f.clipped > 0.20:
        out.append(texts["overexposed"])
    if _pair_of_same_size(f):
        out.append(texts["corner-covered"])
    if f.module_px is not None and f.module_px < 3.5:
        out.append(texts["too-far"].format(px=f.module_px))
    if f.blur_direction > 0.6:  # dev photos: at most 0.26; a 40 px shake: 0.85
        out.append(texts["motion-blur"])
    elif f.sharpness < 0.4:  # dev photos: 0.45 and up; a 7 px defocus: 0.36
        out.append(texts["out-of-focus"])
    if f.contrast < 40:
        out.append(texts["low-contrast"])
    return out[:2]
