"""Soft-decision Reed-Solomon over one symbol: erasures from module confidence.

RS with 2t + e <= nsym corrects twice as many erasures as errors. Per block we try errors
only, then erase the least confident codewords in growing numbers (generalised minimum
distance decoding). Several module-value variants of the same symbol can be pooled: a block
only has to decode in one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kpanic.qr import tables
from kpanic.qr.image.budget import Budget
from kpanic.qr.image.symbol import block_indices, data_index, mask_array, rs_decode

F64 = npt.NDArray[np.float64]


@dataclass
class BlockResult:
    data: bytes
    errata: int
    erasures: int

    def margin(self, nsym: int) -> int:
        """Check symbols left unused: a small margin means a riskier correction."""
        return nsym - (2 * (self.errata - self.erasures) + self.erasures)


@dataclass
class SymbolState:
    """Best decoded block so far for every block of a symbol."""

    version: int
    blocks: list[BlockResult | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.blocks:
            self.blocks = [None] * len(block_indices(self.version))

    def done(self) -> bool:
        return all(b is not None for b in self.blocks)

    def missing(self) -> int:
        return sum(b is None for b in self.blocks)


def codewords_and_reliability(
    values: F64, version: int, mask: int = 0
) -> tuple[npt.NDArray[np.uint8], F64]:
    """Placed codeword stream (hard decisions, unmasked) and a confidence per codeword."""
    rows, cols = data_index(version)
    v = values[rows, cols]
    bits = (v > 0).astype(np.uint8) ^ mask_array(version, mask)[rows, cols]
    cw = np.packbits(bits)
    rel = np.abs(v).reshape(-1, 8).min(axis=1)
    return cw, rel


def decode_blocks(
    state: SymbolState,
    values: F64,
    slack: int = 2,
    max_tries: int = 16,
    mask: int = 0,
    budget: Budget | None = None,
) -> None:
    """Try to decode every still-missing block of ``state`` from module ``values``."""
    version = state.version
    cw, rel = codewords_and_reliability(values, version, mask)
    layout_ = tables.block_layout(version)
    for b, idx in enumerate(block_indices(version)):
        if state.blocks[b] is not None:
            continue
        if budget is not None:
            budget.check()
        nsym = layout_[b][1]
        block = bytes(cw[idx])
        res = rs_decode(block, nsym, slack=slack)
        if res is not None:
            state.blocks[b] = BlockResult(res[0], res[1], 0)
            continue
        order = np.argsort(rel[idx], kind="stable")
        steps = list(range(2, nsym - slack + 1, 2))
        if len(steps) > max_tries:
            pick = np.linspace(0, len(steps) - 1, max_tries).round().astype(int)
            steps = [steps[i] for i in sorted(set(pick))]
        for k in steps:
            erase = sorted(int(i) for i in order[:k])
            res = rs_decode(block, nsym, erasures=erase, slack=slack)
            if res is not None:
                state.blocks[b] = BlockResult(res[0], res[1], k)
                break


def data_bytes(state: SymbolState) -> bytes:
    return b"".join(b.data for b in state.blocks if b is not None)
