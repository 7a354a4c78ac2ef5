"""kpanic's own phone-photo generator (independent of the simulator behind shared/photos/dev).

``sample(family, seed)`` returns one photo (encoded file bytes) of a drm_panic screen made the
way the kernel makes it (kmsg -> deflate -> digits -> the project's encoder, demo crash logs),
photographed under one of the conditions people meet, plus what a reader must return.
Families (``FAMILIES``): plain, covered (finger over one finder), far (2-3 px per module, blurred),
foreign (an asset tag and a Wi-Fi code beside the panic), foreign-only (no panic code: a reader
must refuse), glare, motion, formats (16-bit PNG, cut PNG, animated GIF, alpha, JPEG 2000),
burst (an animation of 5 frames with independent noise and glare; the best one is readable),
burst-noisy (5 frames with reflections, noise and hand shake: pooled across frames).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp
from PIL import Image

from kpanic.qr import kmsg

DEMO = Path(__file__).resolve().parents[2] / "src" / "kpanic" / "web" / "demo_data"
FAMILIES = (
    "plain",
    "covered",
    "far",
    "foreign",
    "foreign-only",
    "glare",
    "motion",
    "formats",
    "burst",
    "burst-noisy",
)
Gray = npt.NDArray[np.uint8]


@dataclass
class Sample:
    family: str
    seed: int
    data: bytes
    payload: str | None  # the exact text to return; None: the reader must refuse
    reason: str | None  # the PhotoDecodeError reason expected when payload is None
    note: str


@lru_cache(maxsize=16)
def _panic(index: int, version: int) -> tuple[tuple[str, ...], str]:
    logs = sorted(DEMO.glob("syzkaller-*.txt"))
    log = logs[index % len(logs)].read_text()
    prefix = "https://panic.example/report?a=x86_64&v=6.12.0&z="
    qr = kmsg.url_mode(log, prefix, qr_version=version)
    text = qr.code.text if qr.code.text is not None else qr.code.text_lenient
    return tuple(qr.code.rows()), text


def _modules(rows: tuple[str, ...], quiet: int) -> Gray:
    dark = np.array([[c == "1" for c in r] for r in rows], bool)
    return np.pad(dark, quiet, constant_values=False).astype(np.uint8)


def screen(rows: tuple[str, ...], px: int, inverted: bool) -> Gray:
    """A drm_panic screen: code centred horizontally, 4-module quiet zone, text lines below."""
    mod = _modules(rows, 4)
    light_fg = not inverted  # default theme: white modules on black
    code = np.where(mod == 1, 0 if light_fg else 255, 255 if light_fg else 0).astype(np.uint8)
    code = cv2.resize(code, None, fx=px, fy=px, interpolation=cv2.INTER_NEAREST)
    bg = 0 if light_fg else 255
    h = code.shape[0] + 12 * px + 40
    w = int(code.shape[1] * 1.6)
    scr = np.full((h, w), bg, np.uint8)
    x0 = (w - code.shape[1]) // 2
    scr[10 : 10 + code.shape[0], x0 : x0 + code.shape[1]] = code
    for i in range(3):  # "KERNEL PANIC!" text lines
        y = 20 + code.shape[0] + i * 3 * px
        scr[y : y + px, w // 4 : 3 * w // 4 - i * w // 10] = 255 - bg
    return scr


def _quad(rng: np.random.Generator, w: int, h: int, frac: float, tilt: float) -> np.ndarray:
    cx, cy = w / 2 + rng.uniform(-0.1, 0.1) * w, h / 2 + rng.uniform(-0.1, 0.1) * h
    s = frac * min(w, h) / 2
    base = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * s
    ang = rng.uniform(-0.3, 0.3)
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    pts = base @ rot.T
    pts += rng.uniform(-tilt, tilt, pts.shape) * s
    return (pts + [cx, cy]).astype(np.float32)


def photograph(
    img: Gray,
    rng: np.random.Generator,
    size: tuple[int, int] = (1600, 1200),
    frac: float = 0.7,
    tilt: float = 0.12,
    blur: float = 1.0,
    noise: float = 4.0,
) -> Gray:
    """Put ``img`` on a desk-like background under perspective, lens blur and sensor noise."""
    w, h = size
    ih, iw = img.shape
    aspect = ih / iw
    dst = _quad(rng, w, h, frac, tilt)
    dst[:, 1] = dst[:, 1].mean() + (dst[:, 1] - dst[:, 1].mean()) * aspect
    src = np.array([[0, 0], [iw, 0], [iw, ih], [0, ih]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    yy, xx = np.mgrid[0:h, 0:w]
    back = (110 + 30 * np.sin(xx / 97.0) * np.cos(yy / 131.0)).astype(np.uint8)
    out = cv2.warpPerspective(
        img, m, (w, h), dst=back.copy(), borderMode=cv2.BORDER_TRANSPARENT, flags=cv2.INTER_AREA
    )
    # the screen glows: dark pixels are never black, light ones never white
    out = 25 + out.astype(np.float32) * (200 / 255)
    if blur:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    out += rng.normal(0, noise, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def jpeg(img: Gray, q: int = 85) -> bytes:
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])[1].tobytes()


def _foreign_code(text: str, px: int) -> Gray:
    bc = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    return np.asarray(bc.to_image(scale=px, add_quiet_zones=True)).astype(np.uint8)


ASSETS = ("ASSET 0042-1187 property of ACME IT", "WIFI:S:lab-5G;T:WPA;P:hunter2-hunter2;;")


def _save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def noisy_burst(
    seed: int, frames: int = 5, contrast: float = 0.7, noise: float = 15.0, glares: int = 1
) -> tuple[list[bytes], str]:
    """A burst of JPEG frames of one screen, none meant to be readable alone: a window's
    reflection sweeps across the code as the hand moves (a saturating band over about a
    quarter of it, elsewhere in every frame), plus ``glares`` lamp reflections, low contrast,
    sensor noise and hand shake, independent in every frame."""
    rng = np.random.default_rng(50_000 + seed)
    version = int(rng.choice([10, 15, 20, 25]))
    rows, text = _panic(seed, version)
    base = photograph(screen(rows, 5, bool(rng.integers(0, 2))), rng, noise=0, blur=1.3)
    base = 128 + (base.astype(np.float32) - 128) * contrast
    h, w = base.shape
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    slant = rng.uniform(-0.3, 0.3)
    # where the code is across the picture: the columns with the modules' edges
    edges = np.abs(cv2.Sobel(base, cv2.CV_32F, 1, 0)).sum(axis=0)
    cum = np.cumsum(edges) / edges.sum()
    x10, x90 = float(np.searchsorted(cum, 0.1)), float(np.searchsorted(cum, 0.9))
    for i in range(frames):
        shake = cv2.getRotationMatrix2D(
            (w / 2 + rng.uniform(-50, 50), h / 2),
            rng.uniform(-0.6, 0.6),
            1 + rng.uniform(-0.01, 0.01),
        )
        shake[:, 2] += rng.uniform(-4, 4, 2)
        img = cv2.warpAffine(base, shake, (w, h), borderMode=cv2.BORDER_REPLICATE)
        bx = x10 + (x90 - x10) * (i / max(1, frames - 1) + rng.uniform(-0.05, 0.05))
        dist = (xx - bx) - slant * (yy - h / 2)
        img += 230 * np.exp(-(dist**2) / (2 * (0.12 * (x90 - x10)) ** 2))
        for _ in range(glares):
            gx, gy = rng.uniform(0.35, 0.65) * w, rng.uniform(0.3, 0.7) * h
            img += 220 * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (0.05 * w) ** 2))
        img += rng.normal(0, noise, img.shape)
        out.append(jpeg(np.clip(img, 0, 255).astype(np.uint8), 85))
    order = rng.permutation(frames)  # the phone does not sweep in order
    return [out[j] for j in order], text


def sample(family: str, seed: int) -> Sample:
    rng = np.random.default_rng(1000 * FAMILIES.index(family) + seed)
    version = int(rng.choice([10, 15, 20, 25, 30]))
    rows, text = _panic(seed, version)
    inverted = bool(rng.integers(0, 2))
    n = len(rows) + 8
    if family == "plain":
        img = photograph(screen(rows, 6, inverted), rng)
        return Sample(family, seed, jpeg(img), text, None, f"v{version}")
    if family == "covered":
        scr = screen(rows, 6, inverted)
        x0 = (scr.shape[1] - 6 * n) // 2
        corner = int(rng.integers(0, 3))
        cx = [x0 + 6 * 3, x0 + 6 * (n - 12), x0 + 6 * 3][corner]
        cy = [10 + 6 * 3, 10 + 6 * 3, 10 + 6 * (n - 12)][corner]
        cv2.ellipse(
            scr,
            (cx + 27, cy + 27),
            (40, 80),
            float(rng.uniform(0, 180)),
            0,
            360,
            int(rng.integers(140, 200)),
            -1,
        )
        img = photograph(scr, rng, tilt=0.06)
        return Sample(family, seed, jpeg(img), text, None, f"v{version} corner {corner}")
    if family == "far":
        # 2-3 px per module on a 12 MP photo, lens blur about half a module, JPEG 80: the
        # modules barely separate (zxing alone reads about half of these)
        ppm = float(rng.uniform(2.0, 3.0))
        scr = screen(rows, 8, inverted)
        frac = ppm * scr.shape[1] / 8 / min(4032, 3024)
        img = photograph(scr, rng, size=(4032, 3024), frac=frac, tilt=0.03, blur=1.0)
        return Sample(family, seed, jpeg(img, 80), text, None, f"v{version} {ppm:.1f} px/module")
    if family in ("foreign", "foreign-only"):
        page = np.full((1400, 2000), 235, np.uint8)
        tag = _foreign_code(ASSETS[seed % 2], 9)
        page[100 : 100 + tag.shape[0], 80 : 80 + tag.shape[1]] = tag
        if family == "foreign":
            code = screen(rows, 4, inverted)
            y, x = 1400 - code.shape[0] - 60, 2000 - code.shape[1] - 60
            page[y : y + code.shape[0], x : x + code.shape[1]] = code
        img = photograph(page, rng, frac=0.9, tilt=0.05)
        if family == "foreign":
            return Sample(
                family, seed, jpeg(img), text, None, f"v{version} + {ASSETS[seed % 2][:6]}"
            )
        return Sample(family, seed, jpeg(img), None, "foreign-code", ASSETS[seed % 2][:6])
    if family == "glare":
        img = photograph(screen(rows, 6, inverted), rng).astype(np.float32)
        h, w = img.shape
        gx, gy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        yy, xx = np.mgrid[0:h, 0:w]
        img += 90 * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (0.08 * w) ** 2))
        return Sample(
            family, seed, jpeg(np.clip(img, 0, 255).astype(np.uint8)), text, None, f"v{version}"
        )
    if family == "motion":
        img = photograph(screen(rows, 7, inverted), rng, blur=0.6)
        length = int(rng.integers(5, 9))
        k = np.zeros((length, length), np.float32)
        k[length // 2, :] = 1.0 / length
        rot = cv2.getRotationMatrix2D(
            (length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 180)), 1
        )
        k = cv2.warpAffine(k, rot, (length, length))
        k /= k.sum()
        return Sample(family, seed, jpeg(cv2.filter2D(img, -1, k)), text, None, f"{length} px")
    if family == "formats":
        kind = seed % 5
        img = photograph(screen(rows, 6, inverted), rng, noise=2.0)
        if kind == 0:
            deep = (2000 + img.astype(np.uint32) * 30).astype(np.uint16)
            return Sample(family, seed, _save(Image.fromarray(deep), "PNG"), text, None, "16-bit")
        if kind == 1:
            tall = np.vstack([img, rng.integers(0, 255, img.shape, dtype=np.uint8)])
            data = _save(Image.fromarray(tall), "PNG")
            return Sample(family, seed, data[: int(len(data) * 0.6)], text, None, "cut PNG")
        if kind == 2:
            frames = [Image.fromarray(np.full(img.shape, 40 + 30 * i, np.uint8)) for i in range(3)]
            frames.insert(2, Image.fromarray(img))
            data = _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80)
            return Sample(family, seed, data, text, None, "animated GIF")
        if kind == 3:
            rgba = np.zeros(img.shape + (4,), np.uint8)
            rgba[..., :3] = 255
            rgba[..., 3] = 255 - img  # light on transparent: vanishes on white
            return Sample(
                family, seed, _save(Image.fromarray(rgba, "RGBA"), "PNG"), text, None, "alpha"
            )
        return Sample(
            family, seed, _save(Image.fromarray(img), "JPEG2000"), text, None, "JPEG 2000"
        )
    if family == "burst":
        base = screen(rows, 5, inverted)
        frames = []
        for i in range(5):
            fr = photograph(
                base,
                np.random.default_rng(seed * 10 + i),
                noise=14.0 if i else 6.0,
                blur=1.4 if i else 1.0,
            )
            frames.append(Image.fromarray(fr))
        order = [frames[j] for j in (1, 2, 0, 3, 4)]  # the good frame is not the first
        data = _save(order[0], "GIF", save_all=True, append_images=order[1:], duration=100)
        return Sample(family, seed, data, text, None, "5 frames")
    if family == "burst-noisy":
        jpegs, text = noisy_burst(seed)
        frames_ = [Image.open(io.BytesIO(j)) for j in jpegs]
        data = _save(frames_[0], "GIF", save_all=True, append_images=frames_[1:], duration=100)
        return Sample(family, seed, data, text, None, "5 noisy frames")
    raise ValueError(f"unknown family {family!r}")
