"""The QR layout tables reproduce every function pattern and codeword of the kernel's vectors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kpanic.qr import layout, tables
from tests.conftest import VECTORS

# Total codewords per version published in ISO/IEC 18004:2015 Table 1.
PUBLISHED_TOTAL = {1: 26, 2: 44, 3: 70, 7: 196, 10: 346, 14: 581, 21: 1156, 27: 1828, 40: 3706}
# Remainder bits, Table 1.
PUBLISHED_REMAINDER = {1: 0, 2: 7, 6: 7, 7: 0, 14: 3, 20: 3, 21: 4, 27: 4, 28: 3, 34: 3, 35: 0}


def _vectors() -> list[dict]:
    out = []
    for name in ("legacy-6.12.json", "fido2-6.15.json"):
        out += [v for v in json.loads((VECTORS / name).read_text())["vectors"] if v["width"]]
    return out


@pytest.mark.parametrize("version", range(1, 41))
def test_codeword_counts_match_geometry(version: int) -> None:
    total = layout.total_codewords(version)
    assert total == tables.data_codewords(version) + tables.ec_codewords(version)
    if version in PUBLISHED_TOTAL:
        assert total == PUBLISHED_TOTAL[version]
    if version in PUBLISHED_REMAINDER:
        assert layout.remainder_bits(version) == PUBLISHED_REMAINDER[version]


def test_format_and_version_words_match_spec_examples() -> None:
    # ISO/IEC 18004 Annex C examples: level M mask 5 -> 100000011001110 (before the L
    # level used by drm_panic); version 7 -> 000111110010010100.
    assert tables.format_word(0b101, ec_bits=0b00) == 0b100000011001110
    assert tables.version_word(7) == 0b000111110010010100


@pytest.mark.parametrize("vec", _vectors(), ids=lambda v: v["id"])
def test_layout_reads_kernel_matrix(vec: dict) -> None:
    v = vec["version"]
    m = np.array([[int(ch) for ch in row] for row in vec["matrix"]], dtype=np.uint8)
    values, reserved = layout.function_modules(v)
    fixed = reserved.copy()
    info = layout.format_positions(v)[0] + layout.format_positions(v)[1]
    if v >= 7:
        info += layout.version_positions(v)[0] + layout.version_positions(v)[1]
    for r, c in info:
        fixed[r, c] = False
    assert (m[fixed] == values[fixed]).all()
    for copy in layout.format_positions(v):
        assert int("".join(str(m[r, c]) for r, c in copy), 2) == tables.format_word(0)
    if v >= 7:
        for copy in layout.version_positions(v):
            word = tables.version_word(v)
            assert all(m[r, c] == (word >> i) & 1 for i, (r, c) in enumerate(copy))
    bits = [int(m[r, c]) ^ int(layout.mask0(r, c)) for r, c in layout.data_positions(v)]
    n = layout.total_codewords(v)
    codewords = bytes(int("".join(map(str, bits[8 * i : 8 * i + 8])), 2) for i in range(n))
    assert codewords.hex() == vec["codewords_hex"]
