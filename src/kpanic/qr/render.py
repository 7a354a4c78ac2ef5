"""Renderers for a QR module matrix: terminal, PNG, SVG and a drm_panic-like panic screen.

All of them add the 4-module quiet zone a reader needs. The panic screen follows
``_draw_panic_static_qr_code()`` in drivers/gpu/drm/drm_panic.c: module scale
``min(3W/4, 3H/4) // (modules + 8)``, a margin of 4 modules in the foreground colour, the
canvas centred horizontally at 2/5 of the free height and the message lines below it. With
the default white-on-black theme the symbol itself is the usual dark-on-light.
"""

from __future__ import annotations

import io
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from kpanic.errors import QRError
from kpanic.qr.encode import QrCode

QUIET_ZONE: Final = 4
Color = tuple[int, int, int]
Matrix = npt.NDArray[np.uint8]
MAX_IMAGE_SIDE: Final = 16384

PANIC_LINES: Final = ("KERNEL PANIC!", "", "Please reboot your computer.", "")


def as_matrix(code: QrCode | Matrix) -> Matrix:
    """The 0/1 module matrix (1 = dark) of a QrCode or of an array-like."""
    m = code.matrix if isinstance(code, QrCode) else np.asarray(code)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise QRError(f"a QR matrix must be square and non-empty, got shape {m.shape}")
    return (m != 0).astype(np.uint8)


def with_quiet_zone(code: QrCode | Matrix, quiet: int = QUIET_ZONE) -> Matrix:
    if quiet < 0:
        raise ValueError("quiet zone must be >= 0")
    return np.pad(as_matrix(code), quiet, constant_values=0)


def matrix_text(code: QrCode | Matrix) -> str:
    """One line of 0/1 per row, 1 = dark, no quiet zone (``kpanic qr encode --format matrix``)."""
    m = as_matrix(code)
    return "\n".join((row + 48).tobytes().decode("ascii") for row in m) + "\n"


def render_terminal(code: QrCode | Matrix, *, quiet: int = QUIET_ZONE, invert: bool = False) -> str:
    """Unicode half blocks, two module rows per text line.

    Light modules are drawn as block characters, which on a usual dark terminal gives the
    dark-on-light symbol a phone expects; ``invert=True`` is for light terminals.
    """
    m = with_quiet_zone(code, quiet)
    if m.shape[0] % 2:
        m = np.vstack((m, np.zeros((1, m.shape[1]), dtype=np.uint8)))
    light = m == 0 if not invert else m == 1
    top, bottom = light[0::2], light[1::2]
    glyphs = np.array([" ", "\u2584", "\u2580", "\u2588"])  # none, lower, upper, full
    idx = top.astype(np.intp) * 2 + bottom.astype(np.intp)
    return "\n".join("".join(row) for row in glyphs[idx]) + "\n"


def parse_terminal(text: str, *, quiet: int = QUIET_ZONE, invert: bool = False) -> Matrix:
    """Inverse of ``render_terminal`` (used by tests and to re-read pasted terminal codes)."""
    lines = text.rstrip("\n").split("\n")
    upper = {" ": (0, 0), "\u2584": (0, 1), "\u2580": (1, 0), "\u2588": (1, 1)}
    rows: list[list[int]] = [[], []]
    out: list[list[int]] = []
    for line in lines:
        rows = [[], []]
        for ch in line:
            if ch not in upper:
                raise QRError(f"unexpected character {ch!r} in a terminal QR code")
            t, b = upper[ch]
            rows[0].append(t)
            rows[1].append(b)
        out.extend(rows)
    light = np.array(out, dtype=np.uint8)
    dark = light if invert else 1 - light
    n = len(lines[0])
    dark = dark[:n]
    return dark[quiet : n - quiet, quiet : n - quiet].copy()


def _checked_scale(modules: int, scale: int) -> int:
    if scale < 1:
        raise ValueError("scale must be >= 1")
    if modules * scale > MAX_IMAGE_SIDE:
        raise QRError(f"{modules} modules at {scale} px each is over {MAX_IMAGE_SIDE} px")
    return scale


def render_image(
    code: QrCode | Matrix,
    *,
    scale: int = 8,
    quiet: int = QUIET_ZONE,
    dark: Color = (0, 0, 0),
    light: Color = (255, 255, 255),
) -> Image.Image:
    m = with_quiet_zone(code, quiet)
    _checked_scale(m.shape[0], scale)
    big = np.kron(m, np.ones((scale, scale), dtype=np.uint8)).astype(bool)
    rgb = np.empty(big.shape + (3,), dtype=np.uint8)
    rgb[big] = dark
    rgb[~big] = light
    return Image.fromarray(rgb, "RGB")


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def render_png(code: QrCode | Matrix, *, scale: int = 8, quiet: int = QUIET_ZONE) -> bytes:
    """PNG bytes, dark on white, ``scale`` pixels per module."""
    return _png_bytes(render_image(code, scale=scale, quiet=quiet))


def render_svg(code: QrCode | Matrix, *, scale: int = 8, quiet: int = QUIET_ZONE) -> str:
    """SVG with one path of horizontal runs of dark modules (crisp at any zoom)."""
    m = with_quiet_zone(code, quiet)
    n = m.shape[0]
    parts: list[str] = []
    for y in range(n):
        row = m[y]
        edges = np.flatnonzero(np.diff(np.concatenate(([0], row, [0]))))
        for start, end in zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True):
            parts.append(f"M{start},{y}h{end - start}v1h{start - end}z")
    size = n * scale
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges">\n'
        f'<rect width="{n}" height="{n}" fill="#fff"/>\n'
        f'<path fill="#000" d="{"".join(parts)}"/>\n</svg>\n'
    )


def render_screen(
    code: QrCode | Matrix,
    *,
    width: int = 1920,
    height: int = 1080,
    fg: Color = (255, 255, 255),
    bg: Color = (0, 0, 0),
    description: str = "Kernel panic - not syncing: Fatal exception",
) -> Image.Image:
    """A framebuffer-sized picture of the drm_panic QR screen."""
    if not (64 <= width <= MAX_IMAGE_SIDE and 64 <= height <= MAX_IMAGE_SIDE):
        raise QRError(f"screen size {width}x{height} is outside 64..{MAX_IMAGE_SIDE}")
    m = as_matrix(code)
    modules = m.shape[0]
    canvas_modules = modules + 2 * QUIET_ZONE
    scale = min(3 * width // 4, 3 * height // 4) // canvas_modules
    if scale < 2:  # drm_panic refuses too: a code under 2 px per module is unreadable
        raise QRError(f"a {modules}-module code does not fit a {width}x{height} screen")
    font_px = 16 if height < 1400 else 32
    font = ImageFont.load_default(size=font_px)
    lines = (*PANIC_LINES, description)
    line_h = font_px + font_px // 4
    msg_h = line_h * len(lines)
    canvas = canvas_modules * scale
    v_margin = max(0, (height - canvas - msg_h) // 5)
    x0 = (width - canvas) // 2
    y0 = 2 * v_margin
    image = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(image)
    msg_y = y0 + canvas + v_margin
    for i, line in enumerate(lines):
        if line:
            w = draw.textlength(line, font=font)
            draw.text(((width - w) / 2, msg_y + i * line_h), line, fill=fg, font=font)
    draw.rectangle([x0, y0, x0 + canvas - 1, y0 + canvas - 1], fill=fg)
    light = np.kron(m == 0, np.ones((scale, scale), dtype=bool))
    qr = np.empty(light.shape + (3,), dtype=np.uint8)
    qr[light] = fg
    qr[~light] = bg
    q0 = QUIET_ZONE * scale
    image.paste(Image.fromarray(qr, "RGB"), (x0 + q0, y0 + q0))
    return image


def render_screen_png(code: QrCode | Matrix, **kwargs: object) -> bytes:
    return _png_bytes(render_screen(code, **kwargs))  # type: ignore[arg-type]
