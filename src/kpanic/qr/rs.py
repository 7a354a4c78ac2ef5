"""Reed-Solomon error correction codewords for QR codes (GF(256), polynomial 0x11D).

Hand-written rather than taken from reedsolo because the encoder computes the EC codewords of
every block of a version at once with numpy (one LFSR step for all blocks together), which keeps
a full version 40 encode well under the 20 ms budget. ``tests/qr/test_rs.py`` checks it against
reedsolo and the kernel vectors check it bit for bit.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

PRIMITIVE = 0x11D  # x^8 + x^4 + x^3 + x^2 + 1 (ISO/IEC 18004, 7.5.2)


def _tables() -> tuple[list[int], list[int]]:
    exp = [0] * 512
    log = [0] * 256
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= PRIMITIVE
    for i in range(255, 512):
        exp[i] = exp[i - 255]
    return exp, log


EXP, LOG = _tables()


def gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return EXP[LOG[a] + LOG[b]]


@lru_cache(maxsize=1)
def _mul_table() -> npt.NDArray[np.uint8]:
    """MUL[a, b] = a * b in GF(256)."""
    table = np.zeros((256, 256), dtype=np.uint8)
    for a in range(1, 256):
        for b in range(1, 256):
            table[a, b] = EXP[LOG[a] + LOG[b]]
    table.setflags(write=False)
    return table


@lru_cache(maxsize=32)
def generator(ec_len: int) -> tuple[int, ...]:
    """Coefficients (highest degree first, leading 1 dropped) of prod_{i<ec_len} (x - a^i)."""
    if not 1 <= ec_len <= 68:
        raise ValueError(f"EC length must be 1..68, got {ec_len}")
    poly = [1]
    for i in range(ec_len):
        nxt = [0] * (len(poly) + 1)
        for j, coef in enumerate(poly):
            nxt[j] ^= coef
            nxt[j + 1] ^= gf_mul(coef, EXP[i])
        poly = nxt
    return tuple(poly[1:])


def ec_codewords(blocks: npt.NDArray[np.uint8], ec_len: int) -> npt.NDArray[np.uint8]:
    """EC codewords of every row of ``blocks`` (shape (n_blocks, k)), shape (n_blocks, ec_len).

    Rows shorter than others must be left-padded with zeros: a leading zero coefficient does
    not change the remainder of the polynomial division. The remainder is linear over GF(256),
    so it is the XOR of one precomputed table row per data codeword (``_position_tables``).
    """
    if blocks.ndim != 2:
        raise ValueError("blocks must be a 2-D array (n_blocks, data codewords)")
    k = blocks.shape[1]
    if k == 0:
        return np.zeros((blocks.shape[0], ec_len), dtype=np.uint8)
    table = _position_tables(k, ec_len)
    picked = table[np.arange(k)[None, :], blocks]  # (n_blocks, k, ec_len)
    return np.bitwise_xor.reduce(picked, axis=1)


@lru_cache(maxsize=16)
def _position_tables(k: int, ec_len: int) -> npt.NDArray[np.uint8]:
    """T[i, v] = EC codewords of a block holding only the value v at position i."""
    unit = np.eye(k, dtype=np.uint8)
    remainders = _lfsr(unit, ec_len)  # (k, ec_len): position i holding 1
    table = _mul_table()[:, remainders].transpose(1, 0, 2).copy()  # (k, 256, ec_len)
    table.setflags(write=False)
    return table


def _lfsr(blocks: npt.NDArray[np.uint8], ec_len: int) -> npt.NDArray[np.uint8]:
    """Polynomial division of every row at once, one codeword per step."""
    mul = _mul_table()
    gen = np.asarray(generator(ec_len), dtype=np.intp)
    n_blocks, k = blocks.shape
    state = np.zeros((n_blocks, ec_len), dtype=np.uint8)
    for i in range(k):
        feedback = blocks[:, i] ^ state[:, 0]
        state[:, :-1] = state[:, 1:]
        state[:, -1] = 0
        state ^= mul[feedback[:, None], gen[None, :]]
    return state
