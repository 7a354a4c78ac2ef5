"""Where everything sits in a QR symbol: function patterns, format/version info, data order.

Shared by the encoder (which writes modules) and the photo reader (which reads them back).
Coordinates are (row, col) = (y, x), row 0 at the top, as in the vectors' ``matrix[y][x]``.
Clause numbers refer to ISO/IEC 18004:2015.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from kpanic.qr import tables

Matrix = npt.NDArray[np.uint8]  # 1 = dark module, 0 = light module
Mask = npt.NDArray[np.bool_]


@lru_cache(maxsize=64)
def _function_patterns(version: int) -> tuple[Matrix, Mask]:
    n = tables.size(version)
    value = np.zeros((n, n), dtype=np.uint8)
    reserved = np.zeros((n, n), dtype=np.bool_)

    # 6.3.3 finder patterns plus 6.3.4 separators (the separator is the light ring).
    for r0, c0 in ((0, 0), (0, n - 7), (n - 7, 0)):
        for dr in range(-1, 8):
            for dc in range(-1, 8):
                r, c = r0 + dr, c0 + dc
                if not (0 <= r < n and 0 <= c < n):
                    continue
                ring = max(abs(dr - 3), abs(dc - 3))
                value[r, c] = 1 if ring in (0, 1, 3) else 0
                reserved[r, c] = True

    # 6.3.5 timing patterns on row 6 and column 6.
    for i in range(8, n - 8):
        value[6, i] = value[i, 6] = 1 if i % 2 == 0 else 0
        reserved[6, i] = reserved[i, 6] = True

    # 6.3.6 alignment patterns.
    for r, c in alignment_centres(version):
        for dr in range(-2, 3):
            for dc in range(-2, 3):
                value[r + dr, c + dc] = 1 if max(abs(dr), abs(dc)) != 1 else 0
                reserved[r + dr, c + dc] = True

    # 7.9.1 format information areas (values written separately) and the dark module.
    for r, c in format_positions(version)[0] + format_positions(version)[1]:
        reserved[r, c] = True
    value[n - 8, 8] = 1
    reserved[n - 8, 8] = True

    # 7.10 version information areas.
    if version >= 7:
        for r, c in version_positions(version)[0] + version_positions(version)[1]:
            reserved[r, c] = True

    value.setflags(write=False)
    reserved.setflags(write=False)
    return value, reserved


@lru_cache(maxsize=64)
def alignment_centres(version: int) -> tuple[tuple[int, int], ...]:
    """(row, col) of every alignment pattern centre, skipping the three under finders (6.3.6)."""
    pos = tables.ALIGNMENT_POSITIONS[version]
    last = len(pos) - 1
    return tuple(
        (r, c)
        for i, r in enumerate(pos)
        for j, c in enumerate(pos)
        if (i, j) not in ((0, 0), (0, last), (last, 0))
    )


def function_modules(version: int) -> tuple[Matrix, Mask]:
    """(values of the fixed patterns, mask of every non-data module) for ``version``."""
    return _function_patterns(version)


@lru_cache(maxsize=64)
def format_positions(version: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The two copies of the 15 format bits, bit 14 (most significant) first (7.9.1, Fig. 25)."""
    n = tables.size(version)
    # Copy 1 around the top-left finder: bits 14..0.
    first = [(8, c) for c in (0, 1, 2, 3, 4, 5, 7, 8)] + [(r, 8) for r in (7, 5, 4, 3, 2, 1, 0)]
    # Copy 2: bits 14..8 down the left column at the bottom, 7..0 along row 8 on the right.
    second = [(n - 1 - i, 8) for i in range(7)] + [(8, n - 8 + i) for i in range(8)]
    return first, second


@lru_cache(maxsize=64)
def version_positions(version: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The two copies of the 18 version bits, bit 0 (least significant) first (7.10, Fig. 27)."""
    n = tables.size(version)
    bottom_left = [(n - 11 + i % 3, i // 3) for i in range(18)]
    top_right = [(i // 3, n - 11 + i % 3) for i in range(18)]
    return bottom_left, top_right


@lru_cache(maxsize=64)
def data_positions(version: int) -> tuple[tuple[int, int], ...]:
    """Every data module in placement order (7.7.3): two-column zigzag from the bottom right.

    The first ``8 * total codewords`` entries hold the codeword bits (most significant bit of
    each codeword first); what follows are the remainder bits (0, 3, 4 or 7 modules).
    """
    n = tables.size(version)
    _, reserved = _function_patterns(version)
    order: list[tuple[int, int]] = []
    upward = True
    col = n - 1
    while col > 0:
        if col == 6:  # the vertical timing pattern is skipped as a whole column
            col -= 1
        rows = range(n - 1, -1, -1) if upward else range(n)
        for r in rows:
            for c in (col, col - 1):
                if not reserved[r, c]:
                    order.append((r, c))
        upward = not upward
        col -= 2
    return tuple(order)


def total_codewords(version: int) -> int:
    return len(data_positions(version)) // 8


def remainder_bits(version: int) -> int:
    return len(data_positions(version)) % 8


def mask0(r: int, c: int) -> bool:
    """Data mask pattern 000 (7.8.2, Table 10): (i + j) mod 2 == 0, i = row, j = column."""
    return (r + c) % 2 == 0


@lru_cache(maxsize=64)
def mask0_array(version: int) -> Mask:
    n = tables.size(version)
    idx = np.add.outer(np.arange(n), np.arange(n))
    arr = (idx % 2) == 0
    arr.setflags(write=False)
    return arr
