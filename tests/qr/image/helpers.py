"""Render vector matrices to images, as a screen shows them (4-module quiet zone)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from tests.conftest import VECTORS


@lru_cache(maxsize=1)
def all_vectors() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in ("legacy-6.12.json", "fido2-6.15.json"):
        out += json.loads((VECTORS / name).read_text())["vectors"]
    return [v for v in out if v["width"]]


def expected_text(vector: dict[str, Any]) -> str:
    """What a reader must return: the URL, the lenient URL, or the raw data as latin-1."""
    if vector["mode"] == "raw":
        return bytes.fromhex(vector["data_hex"]).decode("latin-1")
    return vector["url"] if vector["url"] is not None else vector["url_lenient"]


def render(
    matrix: list[str], px: int = 4, inverted: bool = False, border: int = 4
) -> npt.NDArray[np.uint8]:
    """Dark modules black on a white quiet zone (or the reverse when ``inverted``)."""
    dark = np.array([[c == "1" for c in row] for row in matrix], dtype=bool)
    dark = np.pad(dark, border, constant_values=False)
    img = np.where(dark, 0, 255).astype(np.uint8)
    if inverted:
        img = 255 - img
    return cv2.resize(img, None, fx=px, fy=px, interpolation=cv2.INTER_NEAREST)


def png_bytes(img: npt.NDArray[np.uint8]) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def one_per_version() -> list[dict[str, Any]]:
    """The first vector of every version 1..40 (both encoders pooled)."""
    seen: dict[int, dict[str, Any]] = {}
    for v in all_vectors():
        seen.setdefault(v["version"], v)
    return [seen[k] for k in sorted(seen)]
