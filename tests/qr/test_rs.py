"""The vectorised Reed-Solomon encoder agrees with reedsolo and the kernel's generator tables."""

from __future__ import annotations

import numpy as np
import pytest
import reedsolo

from kpanic.qr import rs

# drm_panic_qr.rs lists its generator polynomials as exponents of alpha (P7, P10, ...).
KERNEL_P7 = [87, 229, 146, 149, 238, 102, 21]
KERNEL_P10 = [251, 67, 46, 61, 118, 70, 64, 94, 32, 45]


@pytest.mark.parametrize(("ec", "exponents"), [(7, KERNEL_P7), (10, KERNEL_P10)])
def test_generator_matches_kernel_tables(ec: int, exponents: list[int]) -> None:
    assert list(rs.generator(ec)) == [rs.EXP[e] for e in exponents]


@pytest.mark.parametrize("ec", [7, 10, 15, 18, 20, 22, 24, 26, 28, 30])
def test_matches_reedsolo(ec: int) -> None:
    rng = np.random.default_rng(ec)
    blocks = rng.integers(0, 256, size=(5, 117), dtype=np.uint8)
    codec = reedsolo.RSCodec(ec, c_exp=8, prim=0x11D, fcr=0, generator=2)
    ours = rs.ec_codewords(blocks, ec)
    for row, parity in zip(blocks, ours, strict=True):
        assert bytes(codec.encode(bytes(row))[-ec:]) == parity.tobytes()


def test_leading_zero_padding_keeps_the_remainder() -> None:
    rng = np.random.default_rng(0)
    block = rng.integers(0, 256, size=(1, 50), dtype=np.uint8)
    padded = np.concatenate((np.zeros((1, 1), dtype=np.uint8), block), axis=1)
    assert (rs.ec_codewords(block, 20) == rs.ec_codewords(padded, 20)).all()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        rs.generator(0)
    with pytest.raises(ValueError):
        rs.ec_codewords(np.zeros(10, dtype=np.uint8), 7)
