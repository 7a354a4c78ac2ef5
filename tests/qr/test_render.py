"""Renders are readable: zxing-cpp reads PNG and panic-screen renders back to the exact payload."""

from __future__ import annotations

import io
import json
import re
from functools import cache

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from kpanic.errors import QRError
from kpanic.qr import render
from kpanic.qr.encode import QrCode, encode
from tests.conftest import VECTORS


@cache
def readable_vectors() -> list[dict]:
    """Every symbol a conforming reader accepts: no legacy tail defect, not the empty one."""
    out = []
    for encoding, name in (("legacy", "legacy-6.12.json"), ("fido2", "fido2-6.15.json")):
        for vec in json.loads((VECTORS / name).read_text())["vectors"]:
            if not vec["width"] or vec.get("legacy_tail_defect", "none") != "none":
                continue
            if vec["data_len"] == 0 and vec["mode"] == "raw":
                continue  # an empty byte segment: zxing reports nothing
            out.append({**vec, "_encoding": encoding})
    return out


def _code(vec: dict) -> QrCode:
    return encode(bytes.fromhex(vec["data_hex"]), vec["url_prefix"], encoding=vec["_encoding"])


def _expected_bytes(vec: dict) -> bytes:
    return vec["url"].encode() if vec["mode"] == "url" else bytes.fromhex(vec["data_hex"])


def _read(image: Image.Image) -> list[bytes]:
    return [bytes(r.bytes) for r in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize("vec", readable_vectors(), ids=lambda v: v["id"])
def test_zxing_reads_png_render(vec: dict) -> None:
    png = render.render_png(_code(vec), scale=2)
    image = Image.open(io.BytesIO(png))
    assert _read(image) == [_expected_bytes(vec)]


SCREEN_SAMPLE = [
    next(
        v
        for v in readable_vectors()
        if v["mode"] == m and v["_encoding"] == e and v["version"] >= vmin
    )
    for m, e, vmin in (
        ("url", "fido2", 40),
        ("url", "legacy", 30),
        ("raw", "fido2", 20),
        ("url", "fido2", 5),
    )
]


@pytest.mark.parametrize("vec", SCREEN_SAMPLE, ids=lambda v: v["id"])
def test_zxing_reads_panic_screen(vec: dict) -> None:
    image = render.render_screen(_code(vec))
    assert image.size == (1920, 1080)
    assert _read(image) == [_expected_bytes(vec)]


def test_screen_layout_follows_drm_panic() -> None:
    code = _code(SCREEN_SAMPLE[0])  # V40, 177 modules
    image = np.asarray(render.render_screen(code, width=1920, height=1080).convert("L"))
    scale = (3 * 1080 // 4) // (177 + 8)  # = 4
    canvas = (177 + 8) * scale
    rows = np.nonzero((image == 255).sum(axis=1) >= canvas)[0]
    top = int(rows[0])
    cols = np.nonzero(image[top] == 255)[0]
    assert int(cols[-1] - cols[0] + 1) == canvas
    assert int(cols[0]) == (1920 - canvas) // 2
    # the top-left finder's dark ring starts after the 4-module light margin
    assert image[top + 4 * scale, cols[0] + 4 * scale] == 0
    assert image[top + 4 * scale - 1, cols[0] + 4 * scale - 1] == 255
    # message text sits below the canvas
    below = image[top + canvas :]
    assert (below == 255).any()


def test_screen_too_small_is_refused() -> None:
    with pytest.raises(QRError, match="does not fit"):
        render.render_screen(_code(SCREEN_SAMPLE[0]), width=320, height=200)


def test_terminal_render_round_trips_and_has_quiet_zone() -> None:
    code = _code(SCREEN_SAMPLE[3])
    text = render.render_terminal(code)
    lines = text.splitlines()
    assert len(lines[0]) == code.width + 8
    assert set(lines[0]) == {"\u2588"}  # first text line: quiet zone rows, all light
    assert (render.parse_terminal(text) == code.matrix).all()
    inverted = render.render_terminal(code, invert=True)
    assert (render.parse_terminal(inverted, invert=True) == code.matrix).all()


def test_terminal_render_is_scannable_as_an_image() -> None:
    """Paint the half-block characters as pixels (light = block) and read it with zxing."""
    code = _code(SCREEN_SAMPLE[3])
    m = render.parse_terminal(render.render_terminal(code))
    image = render.render_image(m, scale=3)
    assert _read(image) == [_expected_bytes(SCREEN_SAMPLE[3])]


def test_svg_render() -> None:
    code = _code(SCREEN_SAMPLE[3])
    svg = render.render_svg(code, scale=4)
    n = code.width + 8
    assert f'viewBox="0 0 {n} {n}"' in svg
    grid = np.zeros((n, n), dtype=np.uint8)
    for x, y, w in re.findall(r"M(\d+),(\d+)h(\d+)", svg):
        grid[int(y), int(x) : int(x) + int(w)] = 1
    assert (grid[4:-4, 4:-4] == code.matrix).all()
    assert not grid[:4].any() and not grid[:, :4].any()


def test_matrix_text() -> None:
    code = _code(SCREEN_SAMPLE[3])
    assert render.matrix_text(code).splitlines() == code.rows()


def test_bad_matrices_and_sizes() -> None:
    with pytest.raises(QRError, match="square"):
        render.render_png(np.zeros((3, 4), dtype=np.uint8))
    with pytest.raises(QRError, match="px"):
        render.render_png(_code(SCREEN_SAMPLE[0]), scale=200)
