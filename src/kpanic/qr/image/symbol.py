"""From a module matrix to data codewords: format info, unmasking, blocks, Reed-Solomon.

Everything works on numpy arrays so the photo path can feed soft (per-module confidence)
values through the same code as a clean matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import reedsolo

from kpanic.errors import QRError
from kpanic.qr import layout, tables

MASKS = (
    lambda r, c: (r + c) % 2 == 0,
    lambda r, c: r % 2 == 0,
    lambda r, c: c % 3 == 0,
    lambda r, c: (r + c) % 3 == 0,
    lambda r, c: (r // 2 + c // 3) % 2 == 0,
    lambda r, c: (r * c) % 2 + (r * c) % 3 == 0,
    lambda r, c: ((r * c) % 2 + (r * c) % 3) % 2 == 0,
    lambda r, c: ((r + c) % 2 + (r * c) % 3) % 2 == 0,
)


def as_matrix(
    matrix: Sequence[str] | Sequence[Sequence[int]] | npt.ArrayLike,
) -> npt.NDArray[np.uint8]:
    """Accept the vectors' list of '0'/'1' strings or any 2-D array (1 = dark)."""
    if isinstance(matrix, list | tuple) and matrix and isinstance(matrix[0], str):
        arr = np.array([[ch == "1" for ch in row] for row in matrix], dtype=np.uint8)
    else:
        arr = (np.asarray(matrix) != 0).astype(np.uint8)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise QRError(f"a QR matrix must be square, got shape {arr.shape}")
    return arr


def version_of(size: int) -> int:
    if size < 21 or (size - 17) % 4 or size > 177:
        raise QRError(f"{size} modules per side is not a QR Code Model 2 size")
    return (size - 17) // 4


@lru_cache(maxsize=1)
def _format_table() -> dict[int, tuple[int, int]]:
    return {tables.format_word(m, ec): (ec, m) for ec in range(4) for m in range(8)}


def read_format(bits_first: Sequence[int], bits_second: Sequence[int]) -> tuple[int, int, int]:
    """(EC level bits, mask, Hamming distance) of the format word nearest to both copies."""
    words = [
        sum(int(b) << (14 - i) for i, b in enumerate(bits)) for bits in (bits_first, bits_second)
    ]
    best = min(
        ((bin(w ^ fw).count("1"), ec, m) for fw, (ec, m) in _format_table().items() for w in words),
    )
    return best[1], best[2], best[0]


@lru_cache(maxsize=64)
def data_index(version: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Row and column arrays of the codeword bits in placement order (remainder bits dropped)."""
    pos = layout.data_positions(version)[: 8 * layout.total_codewords(version)]
    rows = np.array([p[0] for p in pos], dtype=np.intp)
    cols = np.array([p[1] for p in pos], dtype=np.intp)
    return rows, cols


def mask_array(version: int, mask: int) -> npt.NDArray[np.bool_]:
    n = tables.size(version)
    r, c = np.indices((n, n))
    return np.asarray(MASKS[mask](r, c), dtype=np.bool_)


@lru_cache(maxsize=64)
def block_indices(version: int) -> list[npt.NDArray[np.intp]]:
    """For each RS block: the positions of its codewords (data then EC) in the placed stream."""
    layout_ = tables.block_layout(version)
    idx: list[list[int]] = [[] for _ in layout_]
    pos = 0
    for i in range(max(k for k, _ in layout_)):
        for b, (k, _) in enumerate(layout_):
            if i < k:
                idx[b].append(pos)
                pos += 1
    ec = layout_[0][1]
    for _ in range(ec):
        for b in range(len(layout_)):
            idx[b].append(pos)
            pos += 1
    return [np.array(x, dtype=np.intp) for x in idx]


def bits_to_codewords(bits: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.packbits(bits.astype(np.uint8))


@lru_cache(maxsize=8)
def _codec(nsym: int) -> reedsolo.RSCodec:
    # QR: GF(256) with primitive polynomial 0x11d, generator roots alpha^0.. (fcr=0).
    return reedsolo.RSCodec(nsym, nsize=255, c_exp=8, prim=0x11D, generator=2, fcr=0)


def rs_decode(
    block: bytes, nsym: int, erasures: Sequence[int] = (), slack: int = 0
) -> tuple[bytes, int] | None:
    """Correct one block; return (data, errata count) or None.

    ``slack`` keeps that many check symbols unused (2*errors + erasures <= nsym - slack), so a
    heavily erased block is not "corrected" into a wrong codeword by accident.
    """
    codec = _codec(nsym)
    try:
        if len(erasures) == 0 and codec.check(bytearray(block))[0]:
            return bytes(block[:-nsym]), 0
        data, _full, errata = codec.decode(bytearray(block), erase_pos=list(erasures) or None)
    except reedsolo.ReedSolomonError:
        return None
    except (ValueError, IndexError, ZeroDivisionError):
        return None
    erased = set(erasures)
    n_err = sum(1 for e in errata if e not in erased)
    if 2 * n_err + len(erasures) > nsym - slack:
        return None
    return bytes(data), len(errata)


def decode_codewords(
    codewords: npt.NDArray[np.uint8], version: int, slack: int = 0
) -> tuple[bytes, int]:
    """Deinterleave, correct every block and return (data bytes, corrected errors)."""
    out = bytearray()
    corrected = 0
    for b, idx in enumerate(block_indices(version)):
        ec = tables.block_layout(version)[b][1]
        res = rs_decode(bytes(codewords[idx]), ec, slack=slack)
        if res is None:
            raise QRError(f"Reed-Solomon block {b} has too many errors")
        out += res[0]
        corrected += res[1]
    return bytes(out), corrected


def matrix_codewords(matrix: npt.NDArray[np.uint8]) -> tuple[int, npt.NDArray[np.uint8]]:
    """(version, placed codeword stream) of a clean matrix, unmasked with its format info."""
    version = version_of(matrix.shape[0])
    first, second = layout.format_positions(version)
    ec, mask, dist = read_format([matrix[p] for p in first], [matrix[p] for p in second])
    if dist > 3:
        raise QRError("format information is unreadable")
    if ec != tables.EC_LEVEL_BITS_L:
        raise QRError("only error correction level L (what drm_panic draws) is supported")
    rows, cols = data_index(version)
    bits = matrix[rows, cols] ^ mask_array(version, mask)[rows, cols]
    return version, bits_to_codewords(bits)
